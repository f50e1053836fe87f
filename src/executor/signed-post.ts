import type { ExecutorConfig } from '../config/file-config';
import { postText, type PostResult } from './http-post';
import { SIGNATURE_HEADER, signBody } from './signature';

/**
 * The one way Countersign calls an executor (commit, dry run, prepare): JSON, signed with the executor's secret,
 * the action id as Idempotency-Key. Only the URL, the time allowed and how much of the answer is kept differ.
 */
export function postSigned(
  executor: Pick<ExecutorConfig, 'secret'>,
  url: string,
  body: string,
  idempotencyKey: string,
  timeoutMs: number,
  keepBytes: number,
): Promise<PostResult> {
  return postText(
    url,
    {
      'content-type': 'application/json',
      'idempotency-key': idempotencyKey,
      [SIGNATURE_HEADER]: signBody(executor.secret, body),
      'user-agent': 'countersign',
    },
    body,
    timeoutMs,
    keepBytes,
  );
}
