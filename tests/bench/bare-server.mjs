// The reference for the cache-hit figure: a bare express endpoint that only reads the request body
// (the same 1 MB multipart upload) and answers 200. Whatever the api adds on a hit is measured against it.
import express from 'express';

const app = express();
app.post('/upload', (req, res) => {
  let bytes = 0;
  req.on('data', (chunk) => {
    bytes += chunk.length;
  });
  req.on('end', () => res.status(200).type('text/plain').send(String(bytes)));
});
app.get('/readyz', (_req, res) => res.send('ok'));
const server = app.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));
