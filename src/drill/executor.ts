import { createServer, type Server } from 'node:http';
import { SIGNATURE_HEADER, verifySignature } from '../executor/signature';

/** The class whose release the drill executor refuses, as a real executor lacking a permission would. */
export const REFUSED_CLASS = 'countersign_drill.change.refuse';

export type DrillExecutorCall = { action_id: string; action_class: string; at: number; status: number };

export type DrillExecutor = { url: string; calls: DrillExecutorCall[]; close(): Promise<void> };

/**
 * The drill's own executor: it performs nothing. It checks the signature as any executor must, answers 403
 * for REFUSED_CLASS and 200 for everything else, and remembers each call so the drill can show what was
 * (and was not) released.
 */
export async function startDrillExecutor(listenUrl: string, secret: string): Promise<DrillExecutor> {
  const target = new URL(listenUrl);
  const calls: DrillExecutorCall[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      if (!verifySignature(secret, raw, req.headers[SIGNATURE_HEADER] as string | undefined)) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad signature"}');
        return;
      }
      let body: { action_id?: string; action_class?: string } = {};
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        /* answered below as a refusal of a malformed call */
      }
      const refused = body.action_class === REFUSED_CLASS || !body.action_id;
      const status = refused ? 403 : 200;
      calls.push({ action_id: body.action_id ?? '', action_class: body.action_class ?? '', at: Date.now(), status });
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end(JSON.stringify(refused ? { error: 'permission_denied', detail: 'the drill executor lacks this permission (simulated)' } : { ok: true, drill: true }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(target.port || 80), target.hostname, resolve);
  });
  return { url: listenUrl, calls, close: () => new Promise<void>((r) => server.close(() => r())) };
}
