import { createServer, type IncomingMessage, type Server } from 'node:http';
import { verifySignature, SIGNATURE_HEADER } from '../../src/executor/signature';

export type ExecutorCall = {
  body: Record<string, unknown>;
  raw: string;
  headers: IncomingMessage['headers'];
  signatureValid: boolean;
  at: number;
  /** When the request's headers arrived (before its body): the executor's view of when the call came. */
  arrivedAt: number;
  /**
   * When the caller hung up before the answer was sent (its process was killed mid-call), if it did. The
   * effect is still performed, as a real executor would: it cannot know the caller is gone.
   */
  abandonedAt?: number;
};

/**
 * A real HTTP executor for tests: verifies signatures, records every call, and performs an effect the way a
 * well-behaved executor does: once per idempotency key (a repeated key is answered without a second effect).
 * `effects` counts the effects performed per action (`action_id` of the body), every one of them: if the
 * gateway ever sent one action under two keys, that action shows 2 and the duplicate is visible. Repeated
 * calls with the same key are in `calls` (exactlyOnceFigures counts them as `redeliveredCalls`).
 *
 * `port` listens on a given port (to bring back an executor that was down on it).
 */
export async function startTestExecutor(
  secret: string,
  opts: { respond?: (call: ExecutorCall, n: number) => { status: number; body?: unknown; delayMs?: number }; port?: number } = {},
) {
  const calls: ExecutorCall[] = [];
  const effects = new Map<string, number>();
  const performedKeys = new Set<string>();
  const server: Server = createServer((req, res) => {
    const arrivedAt = Date.now();
    let call: ExecutorCall | undefined;
    let hungUp = 0;
    res.on('close', () => {
      if (res.writableEnded) return;
      hungUp = Date.now();
      if (call) call.abandonedAt = hungUp;
    });
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      call = {
        raw,
        body: JSON.parse(raw) as Record<string, unknown>,
        headers: req.headers,
        signatureValid: verifySignature(secret, raw, req.headers[SIGNATURE_HEADER] as string | undefined),
        at: Date.now(),
        arrivedAt,
        ...(hungUp ? { abandonedAt: hungUp } : {}),
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
        if (!performedKeys.has(key)) {
          performedKeys.add(key);
          const action = String(call!.body.action_id);
          effects.set(action, (effects.get(action) ?? 0) + 1);
        }
      }
      res.writeHead(plan.status, { 'content-type': 'application/json' }).end(JSON.stringify(plan.body ?? {}));
    });
  });
  await new Promise<void>((r) => server.listen(opts.port ?? 0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/execute`,
    calls,
    effects,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
