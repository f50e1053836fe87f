// redact returns what holds nothing secret as it is (issue #20), and must give exactly what the copying
// implementation it replaced gave, for any input: checked against that implementation, kept here as the reference.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SECRET_KEY_PATTERN, REDACTED, redact, redactScalar } from '../../src/audit/redact';

/** The implementation before issue #20, copying every object and array. */
function copyingRedact(value: unknown, keyPattern: RegExp = DEFAULT_SECRET_KEY_PATTERN, depth = 0): unknown {
  if (depth > 32) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => copyingRedact(v, keyPattern, depth + 1));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = keyPattern.test(k) ? REDACTED : copyingRedact(v, keyPattern, depth + 1);
    return out;
  }
  // The leaves are the same function: this oracle is about the walk (what is copied), not the patterns.
  return redactScalar(value);
}

const secretish = fc.constantFrom('password', 'api_key', 'name', 'Authorization', 'list', 'x', 'token', 'ok', '__proto__', 'card_number');
const leaf = fc.oneof(
  fc.string(),
  fc.constantFrom('4111111111111111', 'Bearer abcdefghijkl', 'postgres://u:p@h/db', 'plain', '3782 822463 10005'),
  fc.integer(),
  fc.constant(4111111111111111),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.date({ noInvalidDate: true }),
);
const value = fc.letrec((tie) => ({
  node: fc.oneof({ depthSize: 'small' }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 5 }),
  object: fc.dictionary(fc.oneof(secretish, fc.string({ maxLength: 6 })), tie('node'), { maxKeys: 5 }),
})).node;

describe('redact without copies', () => {
  it('gives the same JSON as the copying implementation, for any value', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(JSON.stringify(redact(v))).toBe(JSON.stringify(copyingRedact(v)));
      }),
      { numRuns: 3000 },
    );
  });

  it('with an own __proto__ key (JSON.parse makes one), a Date or a sparse array, as before', () => {
    for (const v of [JSON.parse('{"__proto__": {"a": 1}, "b": 2}'), { at: new Date(0) }, [1, , 3], Object.create(null)]) {
      expect(JSON.stringify(redact(v))).toBe(JSON.stringify(copyingRedact(v)));
    }
  });

  it('returns a value with nothing secret in it as it is, and copies only what changes', () => {
    const clean = { a: { b: [1, 'two', { c: null }] }, d: 'plain' };
    expect(redact(clean)).toBe(clean);
    const mixed = { keep: { same: [1, 2] }, password: 'x', deep: { list: ['ok', '4111111111111111'] } };
    const out = redact(mixed) as typeof mixed;
    expect(out).not.toBe(mixed);
    expect(out.keep).toBe(mixed.keep);
    expect(out.password).toBe(REDACTED);
    expect(out.deep.list).toEqual(['ok', REDACTED]);
    expect(mixed.password).toBe('x');
    expect(mixed.deep.list[1]).toBe('4111111111111111');
  });
});
