import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export type SeenRequest = { method: string; url: string; headers: IncomingMessage['headers']; body: any };

/** A tiny scripted HTTP server: each request gets the next scripted answer (the last one repeats). */
export async function startScriptedServer(script: Array<(req: SeenRequest, res: ServerResponse) => void>) {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const r: SeenRequest = { method: req.method!, url: req.url!, headers: req.headers, body: raw ? JSON.parse(raw) : null };
      seen.push(r);
      script[Math.min(seen.length - 1, script.length - 1)]!(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function problem(status: number, code: string, retryable: boolean, headers: Record<string, string> = {}) {
  return (_req: SeenRequest, res: ServerResponse) => {
    res
      .writeHead(status, { 'content-type': 'application/problem+json', ...headers })
      .end(JSON.stringify({ type: `https://countersign.dev/problems/${code}`, title: code, status, detail: `${code} detail`, code, retryable }));
  };
}

export function created(extra: Record<string, unknown> = {}) {
  return (req: SeenRequest, res: ServerResponse) => {
    res.writeHead(201, { 'content-type': 'application/json' }).end(
      JSON.stringify({ id: 'act_test', status: 'approved', idempotency_key: req.body?.idempotency_key, ...extra }),
    );
  };
}

/** Drops the connection without an answer (a network failure as the client sees it). */
export function hangUp() {
  return (_req: SeenRequest, res: ServerResponse) => void res.socket?.destroy();
}
