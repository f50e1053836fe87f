import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A signal that fires when the client of this request is gone, for work that waits on the client's behalf
 * (long polls). It also fires at once for a client that left before this was called — while the token or
 * the body was being read — whose response had already emitted 'close' with nobody listening: without that,
 * such a wait was held, with its long-poll slot, until it ran out.
 */
export function clientGone(req: IncomingMessage, res: ServerResponse): AbortSignal {
  const gone = new AbortController();
  res.on('close', () => gone.abort());
  if (res.closed || req.socket.destroyed) gone.abort();
  return gone.signal;
}
