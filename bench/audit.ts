/**
 * Audit benchmark (issue 6): what the hash chain costs at the intake's write rate, and p50/p99 of every audit
 * query with one million events in the table. Private database; figures → bench/results-audit.json.
 *
 *   node bin/run-ts.js bench/audit.ts [--events 1000000] [--iterations 200]
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { appendEvents, type AuditEventInput } from '../src/audit/append';
import { auditEvents } from '../src/db/schema';
import { newId } from '../src/lib/ids';
import { actionEvents, countEvents } from '../src/audit/query';
import { exportEvents } from '../src/audit/export';
import { verifyChain } from '../src/audit/verify';
import { auditRouter } from '../src/audit/routes';
import { problemHandler } from '../src/http/problem-response';
import { buildAuditReply } from '../src/slack/listeners/commands/audit-reply';
import type { Db } from '../src/db/client';
import { createTestDb, ensureTemplate } from '../test/support/db';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!;
  if (a === '--quick') args.set('quick', 'true');
  else if (a.startsWith('--')) args.set(a.slice(2), process.argv[++i]!);
}
// --quick (npm run bench -- --quick): a smoke run, not figures to quote.
const QUICK = args.has('quick');
const EVENTS = Number(args.get('events') ?? (QUICK ? 100_000 : 1_000_000));
const ITERATIONS = Number(args.get('iterations') ?? (QUICK ? 40 : 200));
const AGENTS = 50;
const EVENTS_PER_ACTION = 6;
const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

type Row = { name: string; p50_ms: number; p99_ms: number; max_ms: number; n: number; note?: string };

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
function summary(name: string, ms: number[], note?: string): Row {
  const s = [...ms].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { name, p50_ms: r(pct(s, 50)), p99_ms: r(pct(s, 99)), max_ms: r(s.at(-1)!), n: s.length, ...(note ? { note } : {}) };
}
async function timeIt(n: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < Math.min(20, n); i++) await fn(i); // warm-up
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}
const rand = (n: number) => Math.floor(Math.random() * n);

// --- 1. What the chain costs -------------------------------------------------------------------------------
/** Three events per transaction, the shape of an intake (action.requested, policy.decided, action.approved). */
function intakeEvents(i: number): AuditEventInput[] {
  const base = { actionId: `act_bench_${i}`, correlationId: `corr_bench_${i}`, agentId: 'agt_bench', policyVersion: 'v1' };
  return [
    { ...base, type: 'action.requested', actor: 'agent:agt_bench', data: { action_class: 'external_automation.workflow.create', params: { name: `wf-${i}`, schedule: '0 3 * * *' }, justification: 'bench' } },
    { ...base, type: 'policy.decided', actor: 'system', data: { decision: 'allow', rule_id: 'r', reasoning: 'bench' } },
    { ...base, type: 'action.approved', actor: 'system', data: { by: 'policy' } },
  ];
}

/** The same rows without the chain: no lock, no head read, no hash. */
async function appendUnchained(db: Db, inputs: AuditEventInput[]): Promise<void> {
  await db.transaction(async (tx) => {
    const createdAt = new Date();
    await tx.insert(auditEvents).values(
      inputs.map((e) => ({ id: newId('event'), type: e.type, actor: e.actor, actionId: e.actionId ?? null, correlationId: e.correlationId ?? null, agentId: e.agentId ?? null, policyVersion: e.policyVersion ?? null, data: e.data, createdAt })),
    );
  });
}

async function writeRate(db: Db, label: string, concurrency: number, total: number, write: (i: number) => Promise<unknown>) {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const t = performance.now();
        await write(i);
        lat.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { ...summary(label, lat), tx_per_s: Math.round(total / seconds), events_per_s: Math.round((total * 3) / seconds), concurrency };
}

async function chainCost() {
  // Separate databases: the verify below must walk a chain with no unchained rows in it.
  const plain = await createTestDb({ max: 20 });
  const chained = await createTestDb({ max: 20 });
  try {
    const results = [];
    for (const concurrency of [1, 8, 16]) {
      const total = QUICK ? 300 : concurrency === 1 ? 1500 : 4000;
      results.push(await writeRate(plain.db, `unchained c=${concurrency}`, concurrency, total, (i) => appendUnchained(plain.db, intakeEvents(i))));
      results.push(await writeRate(chained.db, `chained c=${concurrency}`, concurrency, total, (i) => appendEvents(chained.db, intakeEvents(i))));
    }
    // Verification speed over the real chain just written.
    const t = performance.now();
    const v = await verifyChain(chained.db, { batchSize: 2000 });
    const verifySeconds = (performance.now() - t) / 1000;
    return { writes: results, verify: { events: v.checked, ok: v.ok, seconds: Math.round(verifySeconds * 100) / 100, events_per_s: Math.round(v.checked / verifySeconds) } };
  } finally {
    await plain.drop();
    await chained.drop();
  }
}

// --- 2. Queries over one million events ---------------------------------------------------------------------
async function load(db: Awaited<ReturnType<typeof createTestDb>>) {
  const t = performance.now();
  const chunk = 250_000;
  for (let from = 1; from <= EVENTS; from += chunk) {
    const to = Math.min(EVENTS, from + chunk - 1);
    // 6 events per action, 50 agents, one event every 100 ms ending now: about 28 hours of history.
    await db.sql`
      insert into audit_events (id, schema_version, type, action_id, correlation_id, agent_id, actor, policy_version, data, created_at, prev_hash, hash)
      select 'evt_bench_' || g, '1',
             (array['action.requested','policy.decided','approval.recorded','action.approved','commit.started','commit.succeeded'])[1 + g % 6],
             'act_bench_' || (g / ${EVENTS_PER_ACTION}),
             'corr_bench_' || (g / ${EVENTS_PER_ACTION}),
             'agt_bench_' || ((g / ${EVENTS_PER_ACTION}) % ${AGENTS}),
             case g % 6 when 0 then 'agent:agt_bench_' || ((g / ${EVENTS_PER_ACTION}) % ${AGENTS}) when 2 then 'slack:U0BENCH' || (g % 17) when 3 then 'slack:U0BENCH' || (g % 17) else 'system' end,
             'v1',
             jsonb_build_object('i', g, 'params', jsonb_build_object('name', 'wf-' || g, 'schedule', '0 3 * * *'), 'reasoning', 'bench event'),
             now() - ((${EVENTS} - g) * interval '100 milliseconds'),
             md5(g::text || 'p') || md5(g::text || 'q'), md5(g::text || 'h') || md5(g::text || 'i')
      from generate_series(${from}::bigint, ${to}::bigint) g`;
    process.stderr.write(`  loaded ${to.toLocaleString('en')} events\n`);
  }
  // Steady state: autovacuum (insert-triggered since PostgreSQL 13) keeps the visibility map set on this table.
  await db.sql`vacuum analyze audit_events`;
  return Math.round((performance.now() - t) / 100) / 10;
}

async function queries() {
  const db = await createTestDb({ max: 10 });
  try {
    const loadSeconds = await load(db);
    const [{ size }] = (await db.sql<{ size: string }[]>`select pg_size_pretty(pg_total_relation_size('audit_events')) as size`) as unknown as [{ size: string }];
    const actions = Math.floor(EVENTS / EVENTS_PER_ACTION);
    const action = () => `act_bench_${rand(actions)}`;
    const agent = () => `agt_bench_${rand(AGENTS)}`;
    const hourAgo = () => new Date(Date.now() - 3600_000 - rand(20 * 3600_000));
    const rows: Row[] = [];
    const d = db.db;

    // The HTTP API, as an admin would call it (bootstrap token: no credential lookup).
    const app = express();
    app.use('/v1', auditRouter({ db: d, adminToken: ADMIN_TOKEN }));
    app.use(problemHandler);
    const server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/audit`;
    const api = async (q: string) => {
      const res = await fetch(`${base}?${q}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      if (res.status !== 200) throw new Error(`${q}: ${res.status} ${await res.text()}`);
      return res.json();
    };
    const midSeq = () => 1 + rand(EVENTS);

    rows.push(summary('API ?action_id=', await timeIt(ITERATIONS, () => api(`action_id=${action()}`))));
    rows.push(summary('API ?correlation_id=', await timeIt(ITERATIONS, () => api(`correlation_id=corr_bench_${rand(actions)}`))));
    rows.push(summary('API ?agent_id= (first page, 100)', await timeIt(ITERATIONS, () => api(`agent_id=${agent()}`))));
    rows.push(
      summary('API ?agent_id= &cursor= (deep page)', await timeIt(ITERATIONS, () => api(`agent_id=${agent()}&cursor=${Buffer.from(`seq:${midSeq()}`).toString('base64url')}`))),
    );
    rows.push(summary('API ?agent_id= &since=24h (newest first)', await timeIt(ITERATIONS, () => api(`agent_id=${agent()}&since=${new Date(Date.now() - 86400_000).toISOString()}&order=desc`))));
    rows.push(summary('API ?actor= (slack user)', await timeIt(ITERATIONS, () => api(`actor=slack:U0BENCH${rand(17)}&cursor=${Buffer.from(`seq:${midSeq()}`).toString('base64url')}`))));
    rows.push(summary('API ?type= &since= &until= (1 h window)', await timeIt(ITERATIONS, () => {
      const s = hourAgo();
      return api(`type=commit.succeeded&since=${s.toISOString()}&until=${new Date(s.getTime() + 3600_000).toISOString()}`);
    })));
    rows.push(summary('API ?since= &until= (1 h window)', await timeIt(ITERATIONS, () => {
      const s = hourAgo();
      return api(`since=${s.toISOString()}&until=${new Date(s.getTime() + 3600_000).toISOString()}`);
    })));
    rows.push(summary('API ?agent_id= &type= &since= (combined)', await timeIt(ITERATIONS, () => api(`agent_id=${agent()}&type=approval.recorded&since=${hourAgo().toISOString()}`))));
    rows.push(summary('API ?order=desc (recent)', await timeIt(ITERATIONS, () => api('order=desc&limit=30'))));
    server.close();

    rows.push(summary('audit show (actionEvents)', await timeIt(ITERATIONS, () => actionEvents(d, action()))));
    rows.push(summary('count: agent since 24h', await timeIt(ITERATIONS, () => countEvents(d, { agent_id: agent(), since: new Date(Date.now() - 86400_000) }))));
    rows.push(summary('/audit ACTION_ID (reply built)', await timeIt(ITERATIONS, () => buildAuditReply(d, { kind: 'action', id: action() }))));
    rows.push(summary('/audit corr ID', await timeIt(ITERATIONS, () => buildAuditReply(d, { kind: 'corr', id: `corr_bench_${rand(actions)}` }))));
    rows.push(summary('/audit recent', await timeIt(ITERATIONS, () => buildAuditReply(d, { kind: 'recent' }))));

    // /audit agent NAME since 24h needs an agents row per name.
    await db.sql`insert into agents (id, name, owner, scopes) select 'agt_bench_' || g, 'bench-agent-' || g, 'bench', array['x.y'] from generate_series(0, ${AGENTS - 1}) g`;
    rows.push(summary('/audit agent NAME since 24h (page + count)', await timeIt(ITERATIONS, () => buildAuditReply(d, { kind: 'agent', name: `bench-agent-${rand(AGENTS)}`, since: '24h' }))));

    // Export: time to the first batch (p50/p99), and streaming throughput over a 1 h window.
    rows.push(
      summary('export: first 500-row batch (1 h window)', await timeIt(Math.min(ITERATIONS, 100), async () => {
        const s = hourAgo();
        let first = 0;
        const t = performance.now();
        await exportEvents(d, db.sql, { since: s, until: new Date(s.getTime() + 3600_000) }, 'jsonl', () => {
          if (!first) first = performance.now() - t;
          throw new StopExport();
        }).catch((e) => {
          if (!(e instanceof StopExport)) throw e;
        });
        return first;
      })),
    );
    const tExp = performance.now();
    let exported = 0;
    const rssBefore = process.memoryUsage().rss;
    let rssMax = rssBefore;
    await exportEvents(d, db.sql, { since: new Date(Date.now() - 30 * 86400_000) }, 'jsonl', (c) => {
      exported += c.length;
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
    });
    const exportSeconds = (performance.now() - tExp) / 1000;
    const exportStream = {
      events: EVENTS,
      seconds: Math.round(exportSeconds * 10) / 10,
      events_per_s: Math.round(EVENTS / exportSeconds),
      mib_written: Math.round(exported / 1048576),
      rss_growth_mib: Math.round((rssMax - rssBefore) / 1048576),
    };
    return { events: EVENTS, load_seconds: loadSeconds, table_size: size, queries: rows, export_stream: exportStream };
  } finally {
    await db.drop();
  }
}

class StopExport extends Error {}

await ensureTemplate();
process.stderr.write('chain cost…\n');
const chain = await chainCost();
process.stderr.write(`queries over ${EVENTS.toLocaleString('en')} events…\n`);
const q = await queries();
const results = { at: new Date().toISOString(), mode: QUICK ? 'quick' : 'full', node: process.version, cpus: cpus().length, load_average_1m_at_end: loadavg()[0], chain, ...q, target_p99_ms: 100 };
writeFileSync(new URL('./results-audit.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`);

const lines: string[] = [];
lines.push('### Chain cost (3 events per transaction, the intake shape)', '', '| writer | concurrency | tx/s | events/s | p50 ms | p99 ms |', '| --- | --- | --- | --- | --- | --- |');
for (const w of chain.writes) lines.push(`| ${w.name.split(' ')[0]} | ${w.concurrency} | ${w.tx_per_s} | ${w.events_per_s} | ${w.p50_ms} | ${w.p99_ms} |`);
lines.push('', `verify: ${chain.verify.events} events in ${chain.verify.seconds} s (${chain.verify.events_per_s}/s, ok=${chain.verify.ok})`, '');
lines.push(`### Queries over ${EVENTS.toLocaleString('en')} events (${q.table_size}, loaded in ${q.load_seconds} s), ${ITERATIONS} runs each`, '', '| query | p50 ms | p99 ms | max ms | < 100 ms p99 |', '| --- | --- | --- | --- | --- |');
for (const r of q.queries) lines.push(`| ${r.name} | ${r.p50_ms} | ${r.p99_ms} | ${r.max_ms} | ${r.p99_ms < 100 ? 'yes' : '**no**'} |`);
lines.push('', `export stream: ${q.export_stream.events} events in ${q.export_stream.seconds} s (${q.export_stream.events_per_s}/s, ${q.export_stream.mib_written} MiB written, RSS growth ${q.export_stream.rss_growth_mib} MiB)`);
console.log(lines.join('\n'));
process.exit(0);
