import { z } from 'zod';
import type { ExecutorConfig } from '../config/file-config';
import type { ActionRow } from '../db/schema';
import { canonicalHash } from '../lib/canonical-json';
import { Problem } from '../lib/errors';
import { postSigned } from './signed-post';
import type { ExecutorRequest } from './client';

/** Largest prepare answer read: facts, plan and preview are evidence and card text, not bulk data. */
export const MAX_PREPARE_BYTES = 256 * 1024;
const PREVIEW_MAX = 4000;

/**
 * What an executor's prepare step answers: `facts` for the policy (`plan.<name>` in conditions), a
 * human-readable `preview` (a diff, a summary) for the card, and the `plan` it would carry out. The plan is
 * hashed; the approval binds to that hash and release compares it with a fresh prepare.
 */
export const prepareAnswerSchema = z.strictObject({
  facts: z.record(z.string(), z.unknown()),
  preview: z.string().max(PREVIEW_MAX).optional(),
  plan: z.record(z.string(), z.unknown()),
});
export type PrepareAnswer = z.infer<typeof prepareAnswerSchema>;

/** The prepare step's outcome as stored on the action (`actions.prepared`) and shown on the card. */
export type Prepared = PrepareAnswer & { plan_hash: string; executor: string; prepared_at: string };

export type PrepareRequest = Omit<ExecutorRequest, 'dry_run'>;

/** What a fresh prepare came to, without throwing: the release path turns each kind into its own outcome. */
export type PrepareOutcome =
  | { kind: 'prepared'; prepared: Prepared }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'refused'; status: number; body: unknown }
  | { kind: 'malformed'; reason: string };

/** SHA-256 of the RFC 8785 canonical JSON of the plan. */
export function planHash(plan: Record<string, unknown>): string {
  return canonicalHash(plan);
}

/**
 * Asks the executor what the action would do: one POST to `prepare_url`, signed exactly like a commit, with the
 * commit's body plus `"mode": "prepare"`, bounded by `prepare_timeout_ms`. Never throws for the executor's
 * answers; a redirect is an answer like any other (not followed), and so refused.
 */
export async function callPrepare(executor: ExecutorConfig, request: PrepareRequest): Promise<PrepareOutcome> {
  if (!executor.prepare_url) return { kind: 'malformed', reason: `executor ${executor.name} has no prepare_url` };
  const body = JSON.stringify({ ...request, dry_run: false, mode: 'prepare' });
  const res = await postSigned(executor, executor.prepare_url, body, request.idempotency_key, executor.prepare_timeout_ms, MAX_PREPARE_BYTES);
  if (res.kind === 'timeout') return { kind: 'unavailable', reason: `timed out after ${executor.prepare_timeout_ms} ms` };
  if (res.kind === 'network') return { kind: 'unavailable', reason: `network error: ${res.message}` };
  if (res.status >= 500 || res.status === 408 || res.status === 429) return { kind: 'unavailable', reason: `executor answered ${res.status}` };
  if (res.status < 200 || res.status >= 300) return { kind: 'refused', status: res.status, body: capped(res.text) };
  if (res.truncated) return { kind: 'malformed', reason: `the answer is over ${MAX_PREPARE_BYTES} bytes` };
  let json: unknown;
  try {
    json = JSON.parse(res.text);
  } catch {
    return { kind: 'malformed', reason: 'the answer is not JSON' };
  }
  const parsed = prepareAnswerSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    return { kind: 'malformed', reason: `the answer is not {facts, plan, preview?}: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'}` };
  }
  const answer = parsed.data;
  return {
    kind: 'prepared',
    prepared: { ...answer, plan_hash: planHash(answer.plan), executor: executor.name, prepared_at: new Date().toISOString() },
  };
}

/**
 * The intake's prepare step: the prepared action, or a problem that says whether retrying can help. A decision
 * needs its facts, so every failure fails closed; nothing is recorded or queued before it succeeds.
 */
export async function prepareForIntake(executor: ExecutorConfig, request: PrepareRequest): Promise<Prepared> {
  const outcome = await callPrepare(executor, request);
  const ext = { executor: executor.name };
  switch (outcome.kind) {
    case 'prepared':
      return outcome.prepared;
    case 'unavailable':
      throw new Problem('prepare-unavailable', `executor ${executor.name} could not prepare the action: ${outcome.reason}; nothing was recorded`, {
        retryAfterSeconds: 5,
        extensions: ext,
      });
    case 'refused':
      throw new Problem('prepare-refused', `executor ${executor.name} answered ${outcome.status} to the prepare step: it would not carry this action out`, {
        extensions: { ...ext, executor_status: outcome.status, executor_response: outcome.body },
      });
    case 'malformed':
      throw new Problem('prepare-malformed', `executor ${executor.name} answered the prepare step with malformed data: ${outcome.reason}`, { extensions: ext });
  }
}

/** The prepare facts of a stored action (the `plan` fact source), or null when its executor did not prepare it. */
export function planFacts(row: Pick<ActionRow, 'prepared'>): Record<string, unknown> | null {
  const facts = (row.prepared as { facts?: unknown } | null)?.facts;
  return facts && typeof facts === 'object' && !Array.isArray(facts) ? (facts as Record<string, unknown>) : null;
}

/** A refusal's body as evidence: parsed JSON when it is, cut to 2,000 characters when it is not. */
function capped(text: string): unknown {
  try {
    const parsed = JSON.parse(text) as unknown;
    return JSON.stringify(parsed).length <= 4000 ? parsed : text.slice(0, 2000);
  } catch {
    return text.slice(0, 2000);
  }
}
