import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/process';
import { startHarness, type Harness } from '../support/harness';

const RULES = join(REPO_ROOT, 'deploy/prometheus/countersign-alerts.yml');
const RULE_TESTS = join(REPO_ROOT, 'deploy/prometheus/countersign-alerts.test.yml');
const DASHBOARD = join(REPO_ROOT, 'deploy/grafana/countersign-dashboard.json');
/** The metrics this issue added (docs/operations.md): linted by promtool on a live instance's output. */
const OPERATOR_METRICS = [
  'countersign_dependency_up',
  'countersign_actions_waiting',
  'countersign_actions_waiting_oldest_seconds',
  'countersign_actions_lease_expired',
  'countersign_actions_waiting_read_timestamp_seconds',
  'countersign_reconcile_requeued_total',
  'countersign_lease_takeovers_total',
  'countersign_release_claim_reads_total',
  'countersign_queue_jobs_read_timestamp_seconds',
];

let h: Harness;
let exposition: string;

beforeAll(async () => {
  h = await startHarness({ start: { workers: false } });
  exposition = await (await fetch(`${h.app.url}/metrics`)).text();
}, 60_000);
afterAll(async () => {
  await h?.close();
});

/** Metric names an expression uses: countersign_* identifiers, histogram series back to their family. */
function namesIn(expr: string): string[] {
  return [...expr.matchAll(/\bcountersign_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
}
const families = () => new Set([...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!.replace(/_total$/, '')));
const known = (name: string) => families().has(name.replace(/_total$/, ''));

describe('deploy/: alert rules and dashboard', () => {
  it('the alert rules pass promtool check rules, and their unit tests pass promtool test rules', () => {
    expect(execFileSync('promtool', ['check', 'rules', RULES]).toString()).toMatch(/SUCCESS: \d+ rules found/);
    const tested = spawnSync('promtool', ['test', 'rules', RULE_TESTS]);
    expect(tested.stdout.toString() + tested.stderr.toString()).toMatch(/SUCCESS/);
    expect(tested.status).toBe(0);
  });

  it('promtool refuses a broken rule file (the check can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-rules-'));
    const broken = join(dir, 'broken.yml');
    writeFileSync(broken, readFileSync(RULES, 'utf8').replace('min by (dependency) (countersign_dependency_up) == 0', 'min by (dependency (countersign_dependency_up) == 0'));
    expect(spawnSync('promtool', ['check', 'rules', broken]).status).not.toBe(0);
  });

  it('every metric the rules and the dashboard use is exposed by a running instance', () => {
    const rules = parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Array<{ expr: string }> }> };
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const used = new Set([...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)), ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))].flatMap(namesIn));
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((n) => !known(n))).toEqual([]);
    expect(known('countersign_no_such_metric')).toBe(false);
  });

  it('the new operator metrics pass promtool check metrics', () => {
    const lines = exposition.split('\n').filter((l) => OPERATOR_METRICS.some((m) => new RegExp(`^(# (HELP|TYPE) )?${m}[ {]`).test(l)));
    for (const m of OPERATOR_METRICS) expect(lines.some((l) => l.startsWith(`# TYPE ${m} `))).toBe(true);
    const res = spawnSync('promtool', ['check', 'metrics'], { input: `${lines.join('\n')}\n` });
    expect(res.stdout.toString() + res.stderr.toString()).toBe('');
    expect(res.status).toBe(0);
  });
});
