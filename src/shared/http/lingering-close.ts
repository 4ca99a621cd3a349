/**
 * A lingering close, as nginx does it. After an early answer to a request whose body is still
 * arriving (413, 401, 429, …), the rest of the body is read and discarded, within bounds. Closing
 * at once would make the kernel reset the connection while the client is still sending. A client
 * that writes its whole body before it reads (Node's fetch, browsers) then loses the answer behind
 * an EPIPE or ECONNRESET. Past the bounds the connection is cut: a hostile sender cannot hold us.
 */
import type { IncomingMessage } from 'node:http';

export interface LingerBounds {
  /** Bytes of the unread body to discard before the connection is cut. */
  maxBytes: number;
  /** Time to wait for the body's end before the connection is cut. */
  maxMs: number;
}

/** Reads and discards what is left of `req`'s body; cuts the connection past either bound. */
export function lingerOnUnreadBody(req: IncomingMessage, { maxBytes, maxMs }: LingerBounds): void {
  if (req.complete || req.destroyed) return;
  let discarded = 0;
  const cut = (): void => {
    stop();
    req.socket.destroy();
  };
  const timer = setTimeout(cut, maxMs);
  // A client that lingers must not keep a stopping server alive.
  timer.unref();
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > maxBytes) cut();
  };
  function stop(): void {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', stop);
    req.off('close', stop);
  }
  req.on('data', onData);
  // The whole body arrived within the bounds: the connection stays in step and may be reused.
  req.once('end', stop);
  req.once('close', stop);
  req.resume();
}
