import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROBLEM_TYPES } from '../../src/lib/errors';

/** The rows of the table in docs/errors.md: | `code` | status | yes/no | … |. */
function documentedCodes(): Map<string, { status: number; retryable: boolean }> {
  const rows = new Map<string, { status: number; retryable: boolean }>();
  for (const line of readFileSync('docs/errors.md', 'utf8').split('\n')) {
    const m = /^\|\s*`([a-z-]+)`\s*\|\s*(\d{3})\s*\|\s*(yes|no)\s*\|/.exec(line);
    if (!m) continue;
    expect(rows.has(m[1]!), `${m[1]} is listed twice`).toBe(false);
    rows.set(m[1]!, { status: Number(m[2]), retryable: m[3] === 'yes' });
  }
  return rows;
}

describe('docs/errors.md', () => {
  it('lists exactly the problem types of the code, with their HTTP status and retry advice', () => {
    const documented = documentedCodes();
    const code = new Map(Object.entries(PROBLEM_TYPES).map(([k, v]) => [k, { status: v.status, retryable: v.retryable }]));
    expect([...documented.keys()].sort()).toEqual([...code.keys()].sort());
    for (const [name, want] of code) expect(documented.get(name), name).toEqual(want);
  });
});
