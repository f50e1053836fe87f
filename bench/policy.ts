// Policy engine benchmark: `node bin/run-ts.js bench/policy.ts [--quick]`.
// Decisions/s and p50/p99 latency on one core for the seed policy and generated bundles of 100/1,000/10,000
// rules, in two ways: warm (the same request objects again and again, the rule index's memo warm) and fresh
// (each request parsed from its JSON text at decision time, against a rule index built anew for each pass,
// so no walk is memoised). The same requests are decided by cedar-wasm on equivalent Cedar policies, and
// every request a figure is reported for is checked to get the same decision and deciding rule from both
// engines — the fail-closed branches (mistyped and missing facts, contradicted claims, invalid classes)
// included. Figures go to bench/results-policy.json and a table on stdout.
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadPolicyBundleFromFiles, type PolicyBundle, type PolicyInput } from '../src/policy/index.ts';
import { evaluateWithIndex } from '../src/policy/evaluate.ts';
import { RuleIndex } from '../src/policy/rule-index.ts';
import { cedarEngine, type CedarEngine } from './policy-cedar.ts';
import { failClosedVariant, generateBundle, generateInputs, randomInput, rng } from './policy-generate.ts';

const quick = process.argv.includes('--quick');
const THROUGHPUT_MS = quick ? 300 : 1500;
const LATENCY_SAMPLES = quick ? 50_000 : 300_000;
const CEDAR_BUDGET_MS = quick ? 1000 : 4000;
/** Share of the requests that take a fail-closed branch. */
const FAIL_CLOSED_SHARE = 0.2;

type Figures = { decisions_per_sec: number; p50_us: number; p99_us: number; samples: number };
type Verdict = { decision: string; rule_id: string | null };
type Row = {
  bundle: string;
  rules: number;
  /** Distinct requests in the mix: every one is decided by both engines and must agree. */
  requests: number;
  fail_closed_requests: number;
  countersign: Figures;
  countersign_fresh: Figures;
  cedar: Figures | null;
  /** countersign (warm) decisions/s divided by cedar decisions/s. */
  speedup: number | null;
  /** Warm: each distinct request once. Fresh: every decision made while timing the fresh figures. */
  agreement: { warm: { checked: number; agreed: number }; fresh: { checked: number; agreed: number } } | null;
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

/** Replaces a share of the mix with fail-closed variants of the same requests (deterministically). */
function withFailClosed(inputs: PolicyInput[], seed: number): { inputs: PolicyInput[]; failClosed: number } {
  const random = rng(seed);
  let failClosed = 0;
  const out = inputs.map((input) => {
    if (random() >= FAIL_CLOSED_SHARE) return input;
    failClosed++;
    return failClosedVariant(input, random);
  });
  return { inputs: out, failClosed };
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

/**
 * Fresh requests: each decision parses its request from JSON text, against a rule index built anew for every
 * pass over the mix (its memo empty: every non-exact class is walked). Building the index is not timed.
 * Every decision's verdict is kept and checked against Cedar's afterwards.
 */
function measureFresh(bundle: PolicyBundle, texts: string[], budgetMs: number, expected: Verdict[]): { figures: Figures; checked: number; agreed: number; disagreements: string[] } {
  const times: number[] = [];
  let timedNs = 0;
  let checked = 0;
  let agreed = 0;
  const disagreements: string[] = [];
  const verdicts: Verdict[] = new Array(texts.length);
  // Bounded by wall-clock time too: for the largest bundle, rebuilding the index costs far more than a pass.
  const wallEnd = Date.now() + budgetMs * 3;
  for (let pass = 0; pass < 2 || (timedNs < budgetMs * 1e6 && Date.now() < wallEnd); pass++) {
    const index = new RuleIndex(bundle.rules);
    for (let i = 0; i < texts.length; i++) {
      const t0 = process.hrtime.bigint();
      const d = evaluateWithIndex(index, JSON.parse(texts[i]!) as PolicyInput, bundle.version);
      const ns = Number(process.hrtime.bigint() - t0);
      verdicts[i] = { decision: d.decision, rule_id: d.rule_id };
      timedNs += ns;
      if (pass > 0) times.push(ns); // the first pass warms the JIT
    }
    for (let i = 0; i < texts.length; i++) {
      checked++;
      if (verdicts[i]!.decision === expected[i]!.decision && verdicts[i]!.rule_id === expected[i]!.rule_id) agreed++;
      else if (disagreements.length < 3) disagreements.push(`${texts[i]}: countersign ${verdicts[i]!.decision}/${verdicts[i]!.rule_id}, cedar ${expected[i]!.decision}/${expected[i]!.rule_id}`);
    }
  }
  const sorted = Float64Array.from(times).sort();
  const totalNs = times.reduce((a, b) => a + b, 0);
  return {
    figures: { decisions_per_sec: Math.round(times.length / (totalNs / 1e9)), p50_us: round(sorted[Math.floor(sorted.length * 0.5)]! / 1000), p99_us: round(sorted[Math.floor(sorted.length * 0.99)]! / 1000), samples: times.length },
    checked,
    agreed,
    disagreements,
  };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function benchOne(name: string, bundle: PolicyBundle, mix: { inputs: PolicyInput[]; failClosed: number }, setId: string): Row {
  const { inputs } = mix;
  const ours = measure((i) => bundle.evaluate(inputs[i]!), inputs.length, THROUGHPUT_MS, LATENCY_SAMPLES, 50_000);
  let engine: CedarEngine;
  try {
    engine = cedarEngine(bundle, setId);
  } catch (error) {
    // Without Cedar nothing is checked, so nothing is reported but the error.
    throw new Error(`${name}: the bundle has no Cedar translation, so its decisions cannot be checked: ${(error as Error).message}`);
  }
  cedarVersion = engine.version;
  // Every request of the mix is decided by Cedar and must agree (decision and deciding rule).
  const requests = inputs.map((input) => engine.prepare(input));
  const expected: Verdict[] = requests.map((r) => engine.decide(r));
  let agreed = 0;
  const disagreements: string[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const a = bundle.evaluate(inputs[i]!);
    const b = expected[i]!;
    if (a.decision === b.decision && a.rule_id === b.rule_id) agreed++;
    else if (disagreements.length < 3) disagreements.push(`${inputs[i]!.action_class} ${JSON.stringify(inputs[i]!.params)} ${JSON.stringify(inputs[i]!.context ?? {})}: countersign ${a.decision}/${a.rule_id}, cedar ${b.decision}/${b.rule_id}`);
  }
  if (agreed !== inputs.length) throw new Error(`engines disagree on ${inputs.length - agreed} of ${inputs.length} decisions for ${name}:\n${disagreements.join('\n')}`);
  const fresh = measureFresh(bundle, inputs.map((input) => JSON.stringify(input)), THROUGHPUT_MS, expected);
  if (fresh.agreed !== fresh.checked) throw new Error(`engines disagree on ${fresh.checked - fresh.agreed} fresh decisions for ${name}:\n${fresh.disagreements.join('\n')}`);
  // Cedar's own figures over the same requests (prepared before timing), within a time budget.
  const started = Date.now();
  let n = 0;
  while (n < 200 && Date.now() - started < 200) engine.decide(requests[n++ % requests.length]!);
  const perCall = (Date.now() - started) / n;
  const samples = Math.max(100, Math.min(50_000, Math.floor(CEDAR_BUDGET_MS / 2 / Math.max(perCall, 0.001))));
  const cedarFigures = measure((i) => engine.decide(requests[i]!), requests.length, CEDAR_BUDGET_MS / 2, samples, Math.min(samples, 20));
  return {
    bundle: name,
    rules: bundle.ruleCount,
    requests: inputs.length,
    fail_closed_requests: mix.failClosed,
    countersign: ours,
    countersign_fresh: fresh.figures,
    cedar: cedarFigures,
    speedup: round(ours.decisions_per_sec / cedarFigures.decisions_per_sec),
    agreement: { warm: { checked: inputs.length, agreed }, fresh: { checked: fresh.checked, agreed: fresh.agreed } },
  };
}

const rows: Row[] = [];
let cedarVersion: string | null = null;
const seedPath = fileURLToPath(new URL('../policies/external-automation-standing.yaml', import.meta.url));
const seed = bundleFrom([{ path: seedPath, text: readFileSync(seedPath, 'utf8') }]);
rows.push(benchOne('seed (external-automation-standing)', seed, withFailClosed(seedInputs(2000), 11), 'seed'));
// Fewer requests for the largest bundle: Cedar takes tens of ms per decision there, and every request is checked.
for (const [size, count] of [[100, 2000], [1000, 2000], [10_000, quick ? 100 : 300]] as const) {
  const generated = generateBundle(size, size);
  const bundle = bundleFrom(generated.files);
  rows.push(benchOne(`generated ${size}`, bundle, withFailClosed(generateInputs(generated, count, size + 1), size + 3), `gen${size}`));
  process.stderr.write(`done: ${size} rules\n`);
}

const fmt = (n: number) => n.toLocaleString('en-US');
const table = [
  '| bundle | rules | requests (fail-closed) | countersign warm decisions/s | p50 µs | p99 µs | countersign fresh decisions/s | fresh p50 µs | fresh p99 µs | cedar-wasm decisions/s | cedar p50 µs | cedar p99 µs | speedup (warm) | agree warm / fresh |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) =>
    `| ${r.bundle} | ${fmt(r.rules)} | ${fmt(r.requests)} (${fmt(r.fail_closed_requests)}) | ${fmt(r.countersign.decisions_per_sec)} | ${r.countersign.p50_us} | ${r.countersign.p99_us} | ` +
    `${fmt(r.countersign_fresh.decisions_per_sec)} | ${r.countersign_fresh.p50_us} | ${r.countersign_fresh.p99_us} | ` +
    `${fmt(r.cedar!.decisions_per_sec)} | ${r.cedar!.p50_us} | ${r.cedar!.p99_us} | ${r.speedup}× | ${fmt(r.agreement!.warm.agreed)}/${fmt(r.agreement!.warm.checked)} · ${fmt(r.agreement!.fresh.agreed)}/${fmt(r.agreement!.fresh.checked)} |`,
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
    'single Node.js thread; each bundle has a fixed mix of requests (2,000; 300 for 10,000 rules), about a fifth of them taking a fail-closed branch (mistyped or missing facts, contradicted claims, invalid classes)',
    'warm: bundle.evaluate on the same request objects, cycling through the mix (the rule index memoises walks of non-exact classes)',
    'fresh: JSON.parse of the request text plus evaluation, timed together, against a rule index built anew for each pass over the mix (building not timed); the first pass warms the JIT and is not counted',
    'every request of the mix is decided by cedar-wasm and must agree with countersign on the decision and the deciding rule, warm and fresh (every fresh decision made while timing is checked); the run fails otherwise',
    'cedar requests are built before timing; latency is hrtime around each call and includes the timer overhead',
  ],
  rows,
};
writeFileSync(fileURLToPath(new URL('./results-policy.json', import.meta.url)), `${JSON.stringify(result, null, 2)}\n`);
console.log(`Policy engine benchmark (${quick ? 'quick' : 'full'}), ${process.version}, ${cpu}, ${cpus().length} cores, load average ${result.load_average.join(' ')}\n`);
console.log(table);
