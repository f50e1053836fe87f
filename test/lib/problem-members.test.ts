import { describe, expect, it } from 'vitest';
import { PROBLEM_TYPES, PROBLEM_TYPE_BASE, Problem, RESERVED_MEMBERS, type ProblemCode } from '../../src/lib/errors';

describe('problem+json members', () => {
  it('keeps extension members beside the RFC 9457 ones', () => {
    const body = new Problem('policy-denied', 'no', { extensions: { action_id: 'act_1', action_status: 'denied' } }).toJSON('/v1/actions/act_1');
    expect(body).toMatchObject({ type: `${PROBLEM_TYPE_BASE}policy-denied`, status: 403, detail: 'no', instance: '/v1/actions/act_1', action_id: 'act_1', action_status: 'denied' });
  });

  it('never lets an extension overwrite type, title, status, detail, instance, code or retryable, for any code', () => {
    const hostile = { type: 'x', title: 'x', status: 'denied', detail: 'x', instance: 'x', code: 'x', retryable: 'x', retry_after_seconds: 'x' };
    expect(new Set(Object.keys(hostile))).toEqual(RESERVED_MEMBERS);
    for (const code of Object.keys(PROBLEM_TYPES) as ProblemCode[]) {
      const body = new Problem(code, 'the detail', { extensions: { ...hostile, context: 1 }, retryAfterSeconds: 3 }).toJSON('/here');
      expect(body, code).toEqual({
        type: PROBLEM_TYPE_BASE + code,
        title: PROBLEM_TYPES[code].title,
        status: PROBLEM_TYPES[code].status,
        detail: 'the detail',
        instance: '/here',
        code,
        retryable: PROBLEM_TYPES[code].retryable,
        retry_after_seconds: 3,
        context: 1,
      });
    }
  });

  it('leaves instance out when there is none, even if an extension names one', () => {
    const body = new Problem('not-found', 'gone', { extensions: { instance: '/elsewhere' } }).toJSON();
    expect(body).not.toHaveProperty('instance');
  });
});
