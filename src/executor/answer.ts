/**
 * What is kept of an executor's answer. The action row and the audit trail store at most
 * MAX_STORED_ANSWER_BYTES of it; beyond that a stand-in with its size, its SHA-256 and its first
 * characters is stored instead, so a 5 MB answer costs a few KB and can still be matched against the
 * executor's own records. The hash is always of the whole answer as received.
 */
export const MAX_STORED_ANSWER_BYTES = 64 * 1024;
/** Characters of an over-long (or non-JSON) answer kept for people to read. */
export const ANSWER_HEAD_CHARS = 2000;

export type AnswerDigest = { bytes: number; sha256: string; truncated: boolean };
export type TruncatedAnswer = { truncated: true; bytes: number; sha256: string; head: string };

export function isTruncatedAnswer(value: unknown): value is TruncatedAnswer {
  const v = value as Partial<TruncatedAnswer> | null;
  return typeof v === 'object' && v !== null && v.truncated === true && typeof v.sha256 === 'string' && typeof v.bytes === 'number';
}

/** The answer as stored: parsed JSON when it fits, its text's head when it is not JSON, the stand-in when it is too long. */
export function storedAnswer(text: string, digest: AnswerDigest): unknown {
  if (digest.truncated) return { truncated: true, bytes: digest.bytes, sha256: digest.sha256, head: text.slice(0, ANSWER_HEAD_CHARS) } satisfies TruncatedAnswer;
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text.slice(0, ANSWER_HEAD_CHARS);
  }
}
