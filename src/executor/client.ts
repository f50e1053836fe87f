import type { ExecutorConfig } from '../config/file-config';
import { postSigned } from './signed-post';
import { MAX_STORED_ANSWER_BYTES, storedAnswer, type AnswerDigest } from './answer';

export type ExecutorRequest = {
  action_id: string;
  action_class: string;
  params: Record<string, unknown>;
  payload_hash: string;
  /** Always the action id: a retry after a crash cannot double the effect. */
  idempotency_key: string;
  agent_idempotency_key: string;
  correlation_id: string;
  dry_run: boolean;
  /** The approved plan's hash, when the executor prepared the action: it may refuse anything else. */
  plan_hash?: string;
};

export type ExecutorOutcome =
  | { kind: 'success'; status: number; body: unknown; answer: AnswerDigest; latencyMs: number }
  | { kind: 'terminal'; status: number; body: unknown; answer: AnswerDigest; latencyMs: number }
  | { kind: 'retriable'; status: number | null; reason: string; latencyMs: number };

/**
 * One signed POST to an executor. 2xx success; 3xx and 4xx terminal (408/429 aside); 5xx / timeout / network error
 * retriable. A redirect is not followed: it would replay a signed, approved request at a URL nobody configured.
 */
export async function callExecutor(executor: ExecutorConfig, request: ExecutorRequest): Promise<ExecutorOutcome> {
  const body = JSON.stringify(request);
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 100) / 100;
  const res = await postSigned(executor, executor.url, body, request.idempotency_key, executor.timeout_ms, MAX_STORED_ANSWER_BYTES);
  if (res.kind === 'timeout') return { kind: 'retriable', status: null, reason: `timed out after ${executor.timeout_ms} ms`, latencyMs: elapsed() };
  if (res.kind === 'network') return { kind: 'retriable', status: null, reason: `network error: ${res.message}`, latencyMs: elapsed() };
  // Only the first MAX_STORED_ANSWER_BYTES are kept; a longer answer is stored as a stand-in (src/executor/answer.ts).
  const answer: AnswerDigest = { bytes: res.bytes, sha256: res.sha256, truncated: res.truncated };
  const parsed = storedAnswer(res.text, answer);
  if (res.status >= 200 && res.status < 300) return { kind: 'success', status: res.status, body: parsed, answer, latencyMs: elapsed() };
  // 408 and 429 are the executor asking us to come back later, not a verdict on the request.
  if (res.status >= 500 || res.status === 408 || res.status === 429)
    return { kind: 'retriable', status: res.status, reason: `executor answered ${res.status}`, latencyMs: elapsed() };
  return { kind: 'terminal', status: res.status, body: parsed, answer, latencyMs: elapsed() };
}
