import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asc } from 'drizzle-orm';
import { auditEvents, policyVersions } from '../../src/db/schema';
import { actionRequest, eventually, startHarness, type Harness } from '../support/harness';

const run = promisify(execFile);
const SEED = 'external-automation-standing.yaml';
let h: Harness;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-policies-'));
  cpSync(join('policies', SEED), join(dir, SEED));
  h = await startHarness({ env: { COUNTERSIGN_POLICIES: dir } });
});
afterAll(async () => {
  await h?.close();
});

async function decide(targets: number) {
  return h.post(actionRequest({ params: { name: 'n', target_count: targets } }));
}

describe('the running app and its policy bundle', () => {
  it('records the first load in version_log', async () => {
    const rows = await eventually(async () => {
      const r = await h.db.db.select().from(policyVersions);
      return r.length ? r : null;
    }, 5_000, 'version_log row');
    expect(rows[0]).toMatchObject({ outcome: 'loaded' });
    expect(rows[0]!.version).toMatch(/^pb_/);
  });

  it('picks up a changed file without a restart, and pending actions keep the version they were decided under', async () => {
    const before = await decide(10);
    expect(before.body.status).toBe('pending_approval');
    const oldVersion: string = before.body.decision.policy_version;
    // Lower the hard cap from 25 to 5.
    const text = readFileSync(join(dir, SEED), 'utf8').replace('threshold: 25', 'threshold: 5');
    writeFileSync(join(dir, SEED), text);
    const after = await eventually(async () => {
      const r = await decide(10);
      return r.status === 403 ? r : null;
    }, 10_000, 'new bundle in force');
    expect(after.body.decision.policy_version).not.toBe(oldVersion);
    expect(after.body.decision.rule_id).toBe('deny-high-target-count-automation');
    const pending = await h.get(`/v1/actions/${before.body.id}`);
    expect(pending.body).toMatchObject({ status: 'pending_approval', decision: { policy_version: oldVersion } });
    const loads = await h.db.db.select().from(policyVersions).orderBy(asc(policyVersions.seq));
    expect(loads.filter((l) => l.outcome === 'loaded').map((l) => l.version)).toEqual(expect.arrayContaining([oldVersion, after.body.decision.policy_version]));
  });

  it('refuses a broken bundle whole, keeps the last good one, and audits the refusal', async () => {
    const good = (await decide(3)).body.decision.policy_version as string;
    writeFileSync(join(dir, 'broken.yaml'), 'name: broken\nversion: 1\nrules:\n  - id: x\n    decision: maybe\n');
    const refusal = await eventually(async () => {
      const r = (await h.db.db.select().from(policyVersions)).find((l) => l.outcome === 'refused');
      return r ?? null;
    }, 10_000, 'refusal recorded');
    expect(JSON.stringify(refusal.errors)).toContain('broken.yaml');
    const still = await decide(3);
    expect(still.body.decision.policy_version).toBe(good);
    const events = await h.db.db.select().from(auditEvents);
    expect(events.some((e) => e.type === 'policy.refused')).toBe(true);
  });

  it('policy replay judges a candidate bundle against recorded traffic', async () => {
    const candidate = mkdtempSync(join(tmpdir(), 'cs-candidate-'));
    // The candidate denies every workflow creation outright.
    const text = readFileSync(join('policies', SEED), 'utf8').replace(
      '  - id: deny-automation-evasion-or-bypass',
      '  - id: deny-all-workflow-create\n    applies_to:\n      action_class:\n        - external_automation.workflow.create\n    decision: deny\n    reasoning: Frozen.\n  - id: deny-automation-evasion-or-bypass',
    );
    writeFileSync(join(candidate, SEED), text);
    const { stdout } = await run('node', ['bin/countersign.js', 'policy', 'replay', candidate, '--since', '1d', '--json'], {
      env: { ...process.env, VITEST: '', DATABASE_URL: h.db.url, LOG_LEVEL: 'silent' },
    });
    const report = JSON.parse(stdout);
    expect(report.total).toBeGreaterThanOrEqual(4);
    expect(report.decision_changed).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(report.changes)).toContain('deny-all-workflow-create');
  });
});
