// The reference for the cache-hit figure: a bare express endpoint that only reads the request body
// (the same 1 MB multipart upload) and answers 200. Whatever the api adds on a hit is measured against it.
// REPLY_BYTES=<n> makes it answer n bytes instead, the size of the api's cached image: that splits
// what a hit costs to send back (on both ends of the connection) from what the api does for it.
import express from 'express';

const reply = Buffer.alloc(Number(process.env.REPLY_BYTES ?? 0), 1);
const app = express();
app.set('etag', false);
app.post('/upload', (req, res) => {
  let bytes = 0;
  req.on('data', (chunk) => {
    bytes += chunk.length;
  });
  req.on('end', () => (reply.length > 0 ? res.status(200).type('image/jpeg').send(reply) : res.status(200).type('text/plain').send(String(bytes))));
});
app.get('/readyz', (_req, res) => res.send('ok'));
const server = app.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
