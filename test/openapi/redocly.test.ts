import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness';

/** Redocly CLI (devDependency) lints the document the server serves, with its `recommended` ruleset. */
let h: Harness;
let dir: string;

beforeAll(async () => {
  h = await startHarness({ slackApiUrl: 'http://127.0.0.1:9/api/', start: { workers: false } });
  dir = mkdtempSync(join(tmpdir(), 'countersign-redocly-'));
});
afterAll(async () => {
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

type LintProblem = { ruleId: string; severity: 'error' | 'warn'; message: string; location: Array<{ pointer: string }> };

function lint(document: unknown): LintProblem[] {
  const file = join(dir, `openapi-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(document));
  const run = spawnSync('node', ['node_modules/@redocly/cli/bin/cli.js', 'lint', '--extends=recommended', '--format=json', file], {
    encoding: 'utf8',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
  });
  expect(run.error).toBeUndefined();
  const start = run.stdout.indexOf('{');
  expect(start, run.stderr).toBeGreaterThanOrEqual(0);
  return (JSON.parse(run.stdout.slice(start)) as { problems: LintProblem[] }).problems;
}

describe('Redocly lint of the served /openapi.json', () => {
  it('reports no error with the recommended ruleset', async () => {
    const doc = await (await fetch(`${h.app.url}/openapi.json`)).json();
    const problems = lint(doc);
    const errors = problems.filter((p) => p.severity === 'error');
    expect(errors.map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`)).toEqual([]);
    // The warnings left are operations that have no 4xx answer at all (probes, the document itself, public keys).
    expect([...new Set(problems.map((p) => p.ruleId))].filter((r) => r !== 'operation-4xx-response')).toEqual([]);
  }, 60_000);

  it('reports what it should (the check above can fail): a document without servers is an error', async () => {
    const doc = (await (await fetch(`${h.app.url}/openapi.json`)).json()) as Record<string, unknown>;
    delete doc.servers;
    expect(lint(doc).filter((p) => p.severity === 'error').map((p) => p.ruleId)).toContain('no-empty-servers');
  }, 60_000);
});
