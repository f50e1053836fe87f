import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { parseFileConfig } from '../../src/config/file-config';
import { startCountersign, type Countersign } from '../../src/main';
import { APPROVE_ACTION_ID } from '../../src/slack/blocks/approval-card';
import type { DrillReport } from '../../src/drill/report';
import { REDIS_URL } from '../support/redis';
import { blockText, startSlackHarness, type SlackHarness } from '../support/slack';

const run = promisify(execFile);
const DRILL_CHANNEL = 'C0DRILL';
const ON_CALL = 'U0ONCALL';
const SECRET = 'drill-executor-secret-0123456789';
/** Kept after the run (git-ignored): the closing note and CI show the latest real drill report. */
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'drill');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (s) => void (stdout += `${s}\n`), stderr: (s) => void (stderr += `${s}\n`), readStdin: async () => '' };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

/** The CLI as an operator runs it, in its own process (offline verification needs nothing but the files). */
async function binCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [join(process.cwd(), 'bin/countersign.js'), ...args], { env: { PATH: process.env.PATH, LOG_LEVEL: 'silent' }, timeout: 170_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let h: SlackHarness;
let second: Countersign;
let configPath: string;
let work: string;
/** The on-call engineer: approves drill cards that ask to change something, as the runbook says. */
let onCall: NodeJS.Timeout | null = null;
const approved = new Set<string>();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'cs-drill-'));
  const port = await freePort();
  // The shipped drill configuration, as an operator would merge it, with the drill executor on a free port.
  const configText = readFileSync('drill/countersign.drill.yaml', 'utf8').replaceAll('127.0.0.1:4790', `127.0.0.1:${port}`).replace(/\[U0ONCALL\]/, `[${ON_CALL}]`);
  configPath = join(work, 'countersign.yaml');
  writeFileSync(configPath, configText);
  const config = parseFileConfig(configText, { COUNTERSIGN_DRILL_EXECUTOR_SECRET: SECRET });
  h = await startSlackHarness({
    policy: readFileSync('drill/countersign-drill.yaml', 'utf8'),
    configFor: () => config,
    emulator: { channels: [{ id: DRILL_CHANNEL, name: 'countersign-drill' }], users: [{ id: ON_CALL, name: 'oncall' }] },
  });
  // A second instance on the same database and Redis: the kill must reach both.
  second = await startCountersign(h.env, { config, expiryEveryMs: 200 });
  Object.assign(process.env, {
    DATABASE_URL: h.db.url,
    REDIS_URL,
    COUNTERSIGN_QUEUE_PREFIX: h.prefix,
    COUNTERSIGN_CONFIG: configPath,
    COUNTERSIGN_DRILL_EXECUTOR_SECRET: SECRET,
    COUNTERSIGN_OPERATOR: 'drill-test',
  });
  onCall = setInterval(() => {
    for (const m of h.slack.messages(DRILL_CHANNEL)) {
      const text = blockText(m.blocks);
      if (m.thread_ts || approved.has(m.ts) || !text.includes('countersign_drill.change.refuse') || !m.blocks?.some((b) => b.type === 'actions')) continue;
      approved.add(m.ts);
      void h.slack.clickButton({ channel: DRILL_CHANNEL, ts: m.ts, actionId: APPROVE_ACTION_ID, user: ON_CALL });
    }
  }, 100);
}, 90_000);

afterAll(async () => {
  if (onCall) clearInterval(onCall);
  await second?.close();
  await h?.close();
});

describe('countersign drill against a running deployment (two instances, PG, Redis, Slack emulator)', () => {
  let report: DrillReport;
  let signedPath: string;

  it('runs every exercise, passes, and writes a signed report with evidence for each step', async () => {
    const res = await cli(['drill', '--instances', `${h.app.url},${second.url}`, '--out', ARTIFACTS, '--approval-timeout', '60s']);
    signedPath = join(ARTIFACTS, 'drill-report.json');
    if (res.code !== 0) console.error(res.stderr, res.stdout);
    const signed = JSON.parse(readFileSync(signedPath, 'utf8'));
    report = signed.document as DrillReport;
    expect(res.stderr).toContain('report written to');
    expect(report.exercises.map((e) => [e.name, e.passed, e.steps.filter((s) => !s.passed).map((s) => `${s.name}: ${s.detail}`)])).toEqual([
      ['bad-tool-call', true, []],
      ['runaway-loop', true, []],
      ['permission-failure', true, []],
      ['kill-switch', true, []],
    ]);
    expect(res.code).toBe(0);
    expect(report.passed).toBe(true);
    expect(report.instances).toEqual([h.app.url, second.url]);
    // Every step that the gateway records names its audit events, and they exist.
    const ids = report.exercises.flatMap((e) => e.steps.flatMap((s) => s.evidence));
    expect(ids.length).toBeGreaterThan(10);
    const stored = await h.db.sql`select id from audit_events where id = any(${ids})`;
    expect(stored.length).toBe(new Set(ids).size);
    const [completed] = await h.db.sql`select type, data from audit_events where id = ${report.completed_event!}`;
    expect(completed).toMatchObject({ type: 'drill.completed', data: { drill_id: report.drill_id, result: 'pass' } });
    // The kill was timed on both instances.
    const kill = report.exercises.find((e) => e.name === 'kill-switch')!;
    const per = kill.measurements.per_instance as Array<{ instance: string; refused_after_ms: number | null; accepted_after_kill: number }>;
    expect(per.map((p) => p.instance)).toEqual([h.app.url, second.url]);
    expect(per.every((p) => typeof p.refused_after_ms === 'number' && p.accepted_after_kill === 0)).toBe(true);
    expect(kill.measurements.kill_to_last_refusal_ms).toBe(Math.max(...per.map((p) => p.refused_after_ms!)));
    // The Markdown report sits beside it and the permission failure's card thread says how it ended.
    expect(readFileSync(join(ARTIFACTS, 'drill-report.md'), 'utf8')).toContain(`# Countersign drill ${report.drill_id}: PASSED`);
    expect(approved.size).toBe(1);
    const cardTs = [...approved][0]!;
    const reply = await h.slack.waitFor(() => h.slack.thread(DRILL_CHANNEL, cardTs).filter((m) => m.ts !== cardTs).at(-1), { timeoutMs: 10_000, description: 'outcome reply' });
    expect(`${reply.text} ${blockText(reply.blocks)}`).toMatch(/[Ff]ailed/);
  }, 180_000);

  it('the report verifies offline with the published keys, and an edited one does not', async () => {
    const keys = await (await fetch(`${h.app.url}/.well-known/countersign-keys`)).json();
    const keysPath = join(work, 'keys.json');
    writeFileSync(keysPath, JSON.stringify(keys));
    const ok = await binCli(['audit', 'verify-report', signedPath, '--keys', keysPath]);
    expect(ok.stdout).toContain(`report valid`);
    expect(ok.stdout).toContain(report.drill_id);
    expect(ok.code).toBe(0);
    const edited = JSON.parse(readFileSync(signedPath, 'utf8'));
    edited.document.exercises[3].measurements.kill_to_last_refusal_ms = 1;
    const editedPath = join(work, 'edited.json');
    writeFileSync(editedPath, JSON.stringify(edited));
    // The failure cases in this process (a CLI start per case is slow on a loaded machine).
    const bad = await cli(['audit', 'verify-report', editedPath, '--keys', keysPath]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('INVALID (bad-signature)');
    expect((await cli(['audit', 'verify-report', signedPath])).code).toBe(2);
  }, 180_000);

  it('a drill whose card nobody approves fails that exercise and says so', async () => {
    approved.clear();
    if (onCall) clearInterval(onCall);
    onCall = null;
    const out = join(work, 'unanswered');
    const res = await cli(['drill', '--instances', h.app.url, '--exercises', 'permission-failure', '--approval-timeout', '2s', '--out', out]);
    expect(res.code).toBe(1);
    const r = JSON.parse(readFileSync(join(out, 'drill-report.json'), 'utf8')).document as DrillReport;
    expect(r.passed).toBe(false);
    expect(r.exercises[0]!.steps.find((s) => s.name === 'a human approved it')).toMatchObject({ passed: false, detail: 'not approved in time' });
    expect(readFileSync(join(out, 'drill-report.md'), 'utf8')).toContain(': FAILED');
  }, 60_000);

  it('refuses bad usage and a deployment without the drill executors', async () => {
    expect((await cli(['drill'])).code).toBe(2);
    expect((await cli(['drill', '--instances', 'not-a-url'])).code).toBe(2);
    expect((await cli(['drill', '--instances', h.app.url, '--exercises', 'fire-drill'])).code).toBe(2);
    const plain = join(work, 'plain.yaml');
    writeFileSync(plain, 'approver_groups: {}\n');
    const res = await cli(['drill', '--instances', h.app.url, '--config', plain]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('drill not started: countersign.yaml has no countersign-drill executor');
  });
});
