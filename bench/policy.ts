// Policy engine benchmark: `node bin/run-ts.js bench/policy.ts [--quick]`.
// Decisions/s and p50/p99 latency on one core for the seed policy and generated bundles of
// 100/1,000/10,000 rules, the same decisions made by cedar-wasm on equivalent Cedar policies
// (checked to agree), and the ratio. Figures go to bench/results-policy.json and a table on stdout.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadPolicyBundleFromFiles, type PolicyBundle, type PolicyInput } from '../src/policy/index.ts';
import { cedarEngine, type CedarEngine } from './policy-cedar.ts';
import { generateBundle, generateInputs, randomInput, rng } from './policy-generate.ts';

const quick = process.argv.includes('--quick');
const THROUGHPUT_MS = quick ? 300 : 1500;
const LATENCY_SAMPLES = quick ? 50_000 : 300_000;
const CEDAR_BUDGET_MS = quick ? 1000 : 4000;
const INPUTS = 2000;

type Figures = { decisions_per_sec: number; p50_us: number; p99_us: number; samples: number };
type Row = {
  bundle: string;
  rules: number;
  countersign: Figures;
  cedar: Figures | null;
  /** countersign decisions/s divided by cedar decisions/s. */
  speedup: number | null;
  agreement: { checked: number; agreed: number } | null;
  cedar_error?: string;
};

function bundleFrom(files: { path: string; text: string }[]): PolicyBundle {
  const result = loadPolicyBundleFromFiles(files);
  if (!result.ok) throw new Error(`bench bundle ${files[0]?.path} invalid: ${JSON.stringify(result.errors.slice(0, 3))}`);
  return result.bundle;
}

function seedInputs(count: number): PolicyInput[] {
  const random = rng(7);
  const classes = [
    'external_automation.workflow.create', 'external_automation.job.run', 'external_automation.api.write',
    'external_automation.read.jobs', 'external_automation.read.runs.recent', 'external_automation.status.view',
    'external_automation.credentials.read', 'external_automation.secret.rotate', 'external_automation.job.delete',
    'external_automation.plan.preview', 'external_automation.bypass.approval', 'external_automation.unknown.op',
  ];
  return Array.from({ length: count }, () => randomInput(classes[Math.floor(random() * classes.length)]!, random));
}

/** Decisions per second over a fixed wall-clock budget, cycling through the inputs. */
function throughput(decide: (i: number) => unknown, count: number, budgetMs: number): number {
  let done = 0;
  let sink = 0;
  const started = process.hrtime.bigint();
  const budget = BigInt(budgetMs) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < budget) {
    for (let i = 0; i < 1000; i++) {
      if (decide((done + i) % count) !== null) sink++;
    }
    done += 1000;
    elapsed = process.hrtime.bigint() - started;
  }
  if (sink < 0) console.log(sink);
  return done / (Number(elapsed) / 1e9);
}

/** Per-decision latency with hrtime around each call (includes ~tens of ns of timer overhead). */
function latency(decide: (i: number) => unknown, count: number, samples: number): { p50: number; p99: number } {
  const times = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    decide(i % count);
    times[i] = Number(process.hrtime.bigint() - t0);
  }
  times.sort();
  return { p50: times[Math.floor(samples * 0.5)]! / 1000, p99: times[Math.floor(samples * 0.99)]! / 1000 };
}

function measure(decide: (i: number) => unknown, count: number, budgetMs: number, samples: number, warmup: number): Figures {
  for (let i = 0; i < warmup; i++) decide(i % count); // warm up the JIT
  const perSecond = throughput(decide, count, budgetMs);
  const { p50, p99 } = latency(decide, count, samples);
  return { decisions_per_sec: Math.round(perSecond), p50_us: round(p50), p99_us: round(p99), samples };
}

/** Cedar is slow enough that its sample count is set by a time budget. */
function cedarSamples(engine: CedarEngine, requests: object[]): number {
  const started = Date.now();
  let n = 0;
  while (n < 200 && Date.now() - started < 200) engine.decide(requests[n++ % requests.length]!);
  const perCall = (Date.now() - started) / n;
  return Math.max(100, Math.min(50_000, Math.floor(CEDAR_BUDGET_MS / 2 / Math.max(perCall, 0.001))));
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function benchOne(name: string, bundle: PolicyBundle, inputs: PolicyInput[], setId: string): Row {
  const ours = measure((i) => bundle.evaluate(inputs[i]!), inputs.length, THROUGHPUT_MS, LATENCY_SAMPLES, 50_000);
  const row: Row = { bundle: name, rules: bundle.ruleCount, countersign: ours, cedar: null, speedup: null, agreement: null };
  let engine: CedarEngine;
  try {
    engine = cedarEngine(bundle, setId);
  } catch (error) {
    row.cedar_error = (error as Error).message;
    return row;
  }
  cedarVersion = engine.version;
  const allRequests = inputs.map((input) => engine.prepare(input));
  // Cedar is measured on the first K inputs of the mix, and every one of them is checked for
  // agreement (decision and deciding rule), so every decision Cedar makes here is verified.
  const samples = cedarSamples(engine, allRequests);
  const checked = Math.min(inputs.length, samples);
  const requests = allRequests.slice(0, checked);
  let agreed = 0;
  const disagreements: string[] = [];
  for (let i = 0; i < checked; i++) {
    const a = bundle.evaluate(inputs[i]!);
    const b = engine.decide(requests[i]!);
    if (a.decision === b.decision && a.rule_id === b.rule_id) agreed++;
    else if (disagreements.length < 3) disagreements.push(`${inputs[i]!.action_class} ${JSON.stringify(inputs[i]!.params)}: countersign ${a.decision}/${a.rule_id}, cedar ${b.decision}/${b.rule_id}`);
  }
  row.agreement = { checked, agreed };
  if (agreed !== checked) throw new Error(`engines disagree on ${checked - agreed} of ${checked} decisions for ${name}:\n${disagreements.join('\n')}`);
  const cedarFigures = measure((i) => engine.decide(requests[i]!), requests.length, CEDAR_BUDGET_MS / 2, samples, Math.min(samples, 20));
  row.cedar = cedarFigures;
  row.speedup = round(ours.decisions_per_sec / cedarFigures.decisions_per_sec);
  return row;
}

const rows: Row[] = [];
let cedarVersion: string | null = null;
const seedPath = fileURLToPath(new URL('../policies/external-automation-standing.yaml', import.meta.url));
const seed = bundleFrom([{ path: seedPath, text: readFileSync(seedPath, 'utf8') }]);
rows.push(benchOne('seed (external-automation-standing)', seed, seedInputs(INPUTS), 'seed'));
for (const size of [100, 1000, 10_000]) {
  const generated = generateBundle(size, size);
  const bundle = bundleFrom(generated.files);
  rows.push(benchOne(`generated ${size}`, bundle, generateInputs(generated, INPUTS, size + 1), `gen${size}`));
  process.stderr.write(`done: ${size} rules\n`);
}

const fmt = (n: number) => n.toLocaleString('en-US');
const table = [
  '| bundle | rules | countersign decisions/s | p50 µs | p99 µs | cedar-wasm decisions/s | cedar p50 µs | cedar p99 µs | speedup | agree |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) =>
    `| ${r.bundle} | ${fmt(r.rules)} | ${fmt(r.countersign.decisions_per_sec)} | ${r.countersign.p50_us} | ${r.countersign.p99_us} | ` +
    (r.cedar ? `${fmt(r.cedar.decisions_per_sec)} | ${r.cedar.p50_us} | ${r.cedar.p99_us} | ${r.speedup}× | ${r.agreement!.agreed}/${r.agreement!.checked} |` : `n/a | n/a | n/a | n/a | ${r.cedar_error ?? ''} |`),
  ),
].join('\n');

const cpu = cpus()[0]?.model ?? 'unknown';
const result = {
  generated_at: new Date().toISOString(),
  node: process.version,
  cpu,
  mode: quick ? 'quick' : 'full',
  cores: cpus().length,
  /** 1/5/15-minute load averages at the end: figures from a busy shared machine are depressed. */
  load_average: loadavg().map((n) => Math.round(n * 100) / 100),
  cedar: cedarVersion ? `cedar ${cedarVersion} via @cedar-policy/cedar-wasm statefulIsAuthorized on a preparsed policy set` : null,
  notes: [
    'single Node.js thread; throughput cycles through a fixed mix of 2,000 inputs',
    'latency is hrtime around each call and includes the timer overhead',
    'cedar requests are built before timing; every input cedar decides is also checked for agreement (decision and deciding rule)',
  ],
  rows,
};
writeFileSync(fileURLToPath(new URL('./results-policy.json', import.meta.url)), `${JSON.stringify(result, null, 2)}\n`);
console.log(`Policy engine benchmark (${quick ? 'quick' : 'full'}), ${process.version}, ${cpu}, ${cpus().length} cores, load average ${result.load_average.join(' ')}\n`);
console.log(table);
