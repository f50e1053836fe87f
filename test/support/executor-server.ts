import { createServer, type IncomingMessage, type Server } from 'node:http';
import { verifySignature, SIGNATURE_HEADER } from '../../src/executor/signature';

export type ExecutorCall = {
  body: Record<string, unknown>;
  raw: string;
  headers: IncomingMessage['headers'];
  signatureValid: boolean;
  at: number;
};

/**
 * A real HTTP executor for tests: verifies signatures, records every call, and counts effects by
 * idempotency key the way a well-behaved executor would (a repeated key has no second effect).
 */
export async function startTestExecutor(secret: string, opts: { respond?: (call: ExecutorCall, n: number) => { status: number; body?: unknown; delayMs?: number } } = {}) {
  const calls: ExecutorCall[] = [];
  const effects = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const call: ExecutorCall = {
        raw,
        body: JSON.parse(raw) as Record<string, unknown>,
        headers: req.headers,
        signatureValid: verifySignature(secret, raw, req.headers[SIGNATURE_HEADER] as string | undefined),
        at: Date.now(),
      };
      calls.push(call);
      const plan = opts.respond?.(call, calls.length) ?? { status: 200, body: { ok: true, workflow_id: `wf_${calls.length}` } };
      if (plan.delayMs) await new Promise((r) => setTimeout(r, plan.delayMs));
      if (!call.signatureValid) {
        res.writeHead(401).end('bad signature');
        return;
      }
      if (plan.status >= 200 && plan.status < 300) {
        const key = String(req.headers['idempotency-key']);
        effects.set(key, (effects.get(key) ?? 0) + (effects.has(key) ? 0 : 1));
      }
      res.writeHead(plan.status, { 'content-type': 'application/json' }).end(JSON.stringify(plan.body ?? {}));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/execute`,
    calls,
    effects,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
