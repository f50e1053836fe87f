import express, { Router, type Request, type Response } from 'express';
import { SIGNATURE_HEADER, verifySignature } from '../executor/signature';

type ExecutorBody = { action_id?: string; action_class?: string; params?: Record<string, unknown>; payload_hash?: string; plan_hash?: string; idempotency_key?: string };

/**
 * The demo executor served by the sandbox itself: it checks the request signature as a real executor must,
 * does nothing, and answers with what it would have done. A repeated idempotency key gets the first answer
 * again, as a well-behaved executor would.
 *
 * It prepares too (`/prepare`): the facts policy reads (`target_count` is the number of `params.targets`, or
 * `params.target_count` when there is no list), a preview for the card, and the plan. `POST /revise` changes
 * the plan it would carry out from then on, so an action approved before it drifts at release (docs/sandbox.md).
 */
export function sandboxExecutorRouter(secret: () => string | null): Router {
  const router = Router();
  const done = new Map<string, unknown>();
  let revision = 1;

  function signedBody(req: Request, res: Response): ExecutorBody | null {
    const raw = typeof req.body === 'string' ? req.body : '';
    const key = secret();
    if (!key || !verifySignature(key, raw, req.header(SIGNATURE_HEADER))) {
      res.status(401).json({ error: 'bad signature' });
      return null;
    }
    try {
      return JSON.parse(raw) as ExecutorBody;
    } catch {
      res.status(400).json({ error: 'body is not JSON' });
      return null;
    }
  }

  const text = express.text({ type: () => true, limit: '1mb' });
  router.post('/prepare', text, (req, res) => {
    const body = signedBody(req, res);
    if (!body) return;
    const params = body.params ?? {};
    const targets = Array.isArray(params.targets) ? params.targets.map(String) : null;
    const targetCount = targets ? targets.length : typeof params.target_count === 'number' ? params.target_count : undefined;
    const what = `${body.action_class ?? 'the action'}${targets ? ` on ${targets.join(', ')}` : ''}`;
    res.json({
      facts: targetCount === undefined ? {} : { target_count: targetCount },
      preview: `Would run ${what} (${targetCount ?? 'an unknown number of'} target${targetCount === 1 ? '' : 's'}); plan revision ${revision}. Nothing real happens in the sandbox.`,
      plan: { action_class: body.action_class ?? null, targets: targets ?? [], revision },
    });
  });
  router.post('/revise', (_req, res) => {
    revision++;
    res.json({ revision });
  });
  router.post('/', text, (req, res) => {
    const body = signedBody(req, res);
    if (!body) return;
    const idem = String(req.header('idempotency-key') ?? body.idempotency_key ?? '');
    if (!done.has(idem)) {
      done.set(idem, {
        ok: true,
        executor: 'sandbox',
        did: `pretended to run ${body.action_class} (nothing real happens in the sandbox)`,
        params: body.params ?? {},
        payload_hash: body.payload_hash,
        ...(body.plan_hash ? { plan_hash: body.plan_hash } : {}),
        at: new Date().toISOString(),
      });
    }
    res.status(200).json(done.get(idem));
  });
  return router;
}
