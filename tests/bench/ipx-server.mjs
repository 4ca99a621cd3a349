// The peer: unjs/ipx as a Node user would run it, an HTTP server on loopback serving the image files
// of IPX_DIR, on the same sharp as ours, with ipx's own defaults (libvips threads and cache untouched).
// GET /<modifiers>/<file>, e.g. /enlarge,s_2048x2048,fit_inside,q_80,f_jpeg/0.jpg; /readyz for the bench.
import { createServer } from 'node:http';
import { createIPX, createIPXNodeServer, ipxFSStorage } from 'ipx';

const handler = createIPXNodeServer(createIPX({ storage: ipxFSStorage({ dir: process.env.IPX_DIR }) }));
const server = createServer((req, res) => (req.url === '/readyz' ? res.end('ok') : handler(req, res)));
server.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
