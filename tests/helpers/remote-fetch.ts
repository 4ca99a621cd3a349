/**
 * A fetch from another Node process, as a real client of the api is. A client in the test's own
 * process shares its event loop with the server, which then always reads the answer before it
 * writes its next chunk: the race of an early answer against a body still being sent never shows.
 */
import { execFile } from 'node:child_process';

/** What the other process's fetch ended with: the answer, or the error it threw. */
export type RemoteOutcome =
  { kind: 'answer'; status: number; headers: Record<string, string>; body: string } | { kind: 'error'; message: string; cause: string };

export interface RemoteUpload {
  url: string;
  headers?: Record<string, string>;
  /** A multipart body with one file of `fileBytes` bytes in the field "image", sent with its Content-Length. */
  fileBytes?: number;
  /** A raw body of `rawBytes` bytes (Content-Type from `headers`). */
  rawBytes?: number;
}

// Runs in the child: builds the body there, so the test process never holds it.
const CLIENT = `
const spec = JSON.parse(process.argv[1]);
let body;
if (spec.fileBytes !== undefined) {
  const bytes = Buffer.alloc(spec.fileBytes, 0x5a);
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]).copy(bytes);
  body = new FormData();
  body.append('image', new Blob([bytes], { type: 'image/jpeg' }), 'big.jpg');
} else {
  body = Buffer.alloc(spec.rawBytes ?? 0, 0x5a);
}
try {
  const res = await fetch(spec.url, { method: 'POST', headers: spec.headers, body });
  const text = await res.text();
  console.log(JSON.stringify({ kind: 'answer', status: res.status, headers: Object.fromEntries(res.headers), body: text }));
} catch (err) {
  console.log(JSON.stringify({ kind: 'error', message: String(err.message), cause: String(err.cause?.code ?? err.cause?.message ?? '') }));
}
`;

export function remoteUpload(spec: RemoteUpload): Promise<RemoteOutcome> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', CLIENT, JSON.stringify(spec)], { maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`the client process failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as RemoteOutcome);
    });
  });
}
