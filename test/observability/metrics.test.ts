import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVE_ACTION_ID } from '../../src/slack/blocks/approval-card';
import { createMetrics } from '../../src/observability';
import { ALICE, AUTOMATION_OPS_CHANNEL, actionRequest, eventually } from '../support/harness';
import { startSlackHarness, type SlackHarness } from '../support/slack';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => {
  await h?.close();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${h.app.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

/** The value of one sample, or 0 when the series does not exist yet. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue;
    const m = /^([^{\s]+)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return 0;
}

describe('/metrics', () => {
  it('counts decisions by outcome', async () => {
    expect((await h.post(actionRequest({ action_class: 'external_automation.read.jobs', context: {} }))).status).toBe(201);
    expect((await h.post(actionRequest({ params: { name: 'n', target_count: 40 } }))).status).toBe(403);
    expect((await h.post(actionRequest())).status).toBe(201);
    const text = await scrape();
    expect(sample(text, 'countersign_decisions_total', { decision: 'allow', status: 'queued' })).toBe(1);
    expect(sample(text, 'countersign_decisions_total', { decision: 'deny', status: 'denied' })).toBe(1);
    expect(sample(text, 'countersign_decisions_total', { decision: 'escalate', status: 'pending_approval' })).toBe(1);
  });

  it('does not count a replay as a second decision', async () => {
    const body = actionRequest({ action_class: 'external_automation.read.jobs', context: {} });
    const before = sample(await scrape(), 'countersign_decisions_total', { decision: 'allow', status: 'queued' });
    await h.post(body);
    await h.post(body);
    expect(sample(await scrape(), 'countersign_decisions_total', { decision: 'allow', status: 'queued' })).toBe(before + 1);
  });

  it('counts problem responses by code', async () => {
    await h.post(actionRequest(), { token: 'csa_nope' });
    await h.post({ action_class: 'external_automation.read.jobs' });
    const text = await scrape();
    expect(sample(text, 'countersign_problem_responses_total', { code: 'unauthenticated', status: '401' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'countersign_problem_responses_total', { code: 'validation-failed', status: '422' })).toBe(1);
    expect(sample(text, 'countersign_problem_responses_total', { code: 'policy-denied', status: '403' })).toBeGreaterThanOrEqual(1);
  });

  it('records executor results and latency, and release outcomes', async () => {
    const created = await h.post(actionRequest({ action_class: 'external_automation.read.jobs', context: {} }));
    await eventually(async () => (await h.get(`/v1/actions/${created.body.id}`)).body.status === 'committed', 15_000, 'committed');
    const text = await eventually(async () => {
      const t = await scrape();
      return sample(t, 'countersign_releases_total', { outcome: 'committed' }) >= 1 ? t : null;
    }, 5_000, 'release counted');
    expect(sample(text, 'countersign_executor_calls_total', { executor: 'automation', result: 'success' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'countersign_executor_latency_seconds_count', { executor: 'automation', result: 'success' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'countersign_executor_latency_seconds_sum', { executor: 'automation', result: 'success' })).toBeGreaterThan(0);
  });

  it('observes the approval wait when a human approves in Slack', async () => {
    const created = await h.post(actionRequest());
    expect(created.body.status).toBe('pending_approval');
    const card = await h.slack.waitForMessage(AUTOMATION_OPS_CHANNEL, (m) => JSON.stringify(m.blocks ?? []).includes(created.body.id), { timeoutMs: 10_000 });
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
    const text = await eventually(async () => {
      const t = await scrape();
      return sample(t, 'countersign_approval_wait_seconds_count', { outcome: 'approved' }) === 1 ? t : null;
    }, 10_000, 'approval wait observed');
    expect(sample(text, 'countersign_approval_wait_seconds_sum', { outcome: 'approved' })).toBeGreaterThan(0);
    expect(sample(text, 'countersign_approval_wait_seconds_bucket', { outcome: 'approved', le: '+Inf' })).toBe(1);
  });

  it('reads queue depth from BullMQ at scrape time', async () => {
    const text = await scrape();
    for (const queue of ['commits', 'cards']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed']) {
        expect(text, `${queue}/${state}`).toMatch(new RegExp(`^countersign_queue_jobs\\{queue="${queue}",state="${state}"\\} \\d+$`, 'm'));
      }
    }
  });

  it('counts HTTP requests by matched route template, not by raw path', async () => {
    await h.get('/v1/actions/act_doesnotexist');
    await fetch(`${h.app.url}/no/such/thing`);
    const text = await scrape();
    expect(sample(text, 'countersign_http_requests_total', { method: 'GET', route: '/v1/actions/:id', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'countersign_http_requests_total', { method: 'POST', route: '/v1/actions', status: '201' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('act_doesnotexist');
    expect(text).not.toContain('/no/such/thing');
    expect(sample(text, 'countersign_http_requests_total', { method: 'POST', route: '/v1/actions', status: '422' })).toBe(1);
    expect(sample(text, 'countersign_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
  });
});

/** Exposition-format rules promtool enforces that bit this project: `_total` only on counters, `_total` on every counter. */
function suffixProblems(text: string): string[] {
  const problems: string[] = [];
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m;
    if (type !== 'counter' && name!.endsWith('_total')) problems.push(`${name} is a ${type} ending in _total`);
    if (type === 'counter' && !name!.endsWith('_total')) problems.push(`${name} is a counter without _total`);
  }
  return problems;
}

describe('/metrics conformance', () => {
  it('passes `promtool check metrics` (Debian prometheus package; required under CI)', async () => {
    await h.post(actionRequest());
    const text = await scrape();
    expect(text).toMatch(/^# TYPE countersign_nodejs_active_handles gauge$/m);
    expect(suffixProblems(text)).toEqual([]);
    const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (promtool.error) {
      // Developers without promtool still get the suffix rules above; CI installs it (.ci/run) and must run it.
      expect(process.env.CI, 'promtool is not installed (apt-get install prometheus)').not.toBe('true');
      return;
    }
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);
  });

  it('catches what promtool refuses (the check above can fail)', async () => {
    const bad = '# HELP x_total a gauge\n# TYPE x_total gauge\nx_total 1\n';
    expect(suffixProblems(bad)).toEqual(['x_total is a gauge ending in _total']);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: bad, encoding: 'utf8' });
    if (!check.error) expect(check.status).not.toBe(0);
  });
});

describe('per-instance registries', () => {
  it('lets several instances live in one process without sharing or colliding', async () => {
    const a = createMetrics({ processMetrics: true });
    const b = createMetrics({ processMetrics: true });
    a.decided('allow', 'approved');
    expect(await a.registry.getSingleMetricAsString('countersign_decisions_total')).toContain('status="approved"} 1');
    expect(await b.registry.getSingleMetricAsString('countersign_decisions_total')).not.toContain('status="approved"} 1');
  });

  it('does not hang a scrape when the queue cannot answer', async () => {
    const stuck = { name: 'stuck', getJobCounts: () => new Promise<Record<string, number>>(() => undefined) };
    const m = createMetrics({ queues: [stuck], processMetrics: false, queueTimeoutMs: 50 });
    const text = await m.registry.metrics();
    expect(text).toContain('# TYPE countersign_queue_jobs gauge');
    expect(text).not.toContain('queue="stuck"');
  });
});
