// Generates policy bundles and request mixes of a given size for bench/policy.ts.
import { stringify } from 'yaml';
import type { PolicyInput } from '../src/policy/index.ts';

/** A deterministic PRNG so every run benchmarks the same bundles and inputs. */
export function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const verbs = ['create', 'update', 'delete', 'run', 'read', 'list', 'view', 'sync'];

export type GeneratedBundle = { files: { path: string; text: string }[]; exactNames: string[]; tailPrefixes: string[]; middleGlobs: string[] };

/**
 * N rules over N/20 services: ~60% exact names, ~25% trailing-`*` globs, ~15% `*` in the middle;
 * 20% deny, 30% escalate, 50% allow; ~30% carry a blast-radius, threshold or membership condition.
 */
export function generateBundle(ruleCount: number, seed = 1): GeneratedBundle {
  const random = rng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const services = Math.max(2, Math.floor(ruleCount / 20));
  const rules: object[] = [];
  const exactNames: string[] = [];
  const tailPrefixes: string[] = [];
  const middleGlobs: string[] = [];
  for (let i = 0; i < ruleCount; i++) {
    const service = `svc${Math.floor(random() * services)}`;
    const resource = `res${Math.floor(random() * 8)}`;
    const shape = random();
    let glob: string;
    if (shape < 0.6) {
      glob = `${service}.${resource}.${pick(verbs)}`;
      exactNames.push(glob);
    } else if (shape < 0.85) {
      glob = `${service}.${resource}.*`;
      tailPrefixes.push(`${service}.${resource}`);
    } else {
      glob = `${service}.*.${pick(verbs)}`;
      middleGlobs.push(glob);
    }
    const roll = random();
    const decision = roll < 0.2 ? 'deny' : roll < 0.5 ? 'escalate' : 'allow';
    const conditionRoll = random();
    const conditions =
      conditionRoll < 0.1
        ? [{ type: 'blast_radius_max', parameter: 'target_count', threshold: 25 }]
        : conditionRoll < 0.2
          ? [{ type: 'threshold', parameter: 'amount', gt: 100 }]
          : conditionRoll < 0.3
            ? [{ type: 'in', parameter: 'environment', values: ['production'] }]
            : [];
    rules.push({
      id: `rule-${i}`,
      applies_to: { action_class: [glob] },
      ...(conditions.length > 0 ? { conditions } : {}),
      decision,
      ...(decision === 'escalate' ? { escalation: { via: 'ops' } } : {}),
      reasoning: conditions.length > 0 && conditions[0]!.type !== 'in' ? `rule ${i}: \${${conditions[0]!.parameter}}` : `rule ${i}`,
    });
  }
  // 1,000 rules a file keeps each file well under the 1 MiB limit, as a real large bundle would be split.
  const files: { path: string; text: string }[] = [];
  for (let start = 0; start < rules.length; start += 1000) {
    const part = String(start / 1000).padStart(3, '0');
    const text = stringify({ name: `generated-${ruleCount}-${part}`, version: '1', rules: rules.slice(start, start + 1000) }, { aliasDuplicateObjects: false, lineWidth: 0 });
    files.push({ path: `generated-${ruleCount}-${part}.yaml`, text });
  }
  return { files, exactNames, tailPrefixes, middleGlobs };
}

/** A request mix: exact hits, deeper classes under trailing globs, middle-glob hits, and misses. */
export function generateInputs(bundle: GeneratedBundle, count: number, seed = 2): PolicyInput[] {
  const random = rng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const inputs: PolicyInput[] = [];
  for (let i = 0; i < count; i++) {
    const roll = random();
    let actionClass: string;
    if (roll < 0.5 && bundle.exactNames.length > 0) actionClass = pick(bundle.exactNames);
    else if (roll < 0.7 && bundle.tailPrefixes.length > 0) actionClass = `${pick(bundle.tailPrefixes)}.${pick(verbs)}${random() < 0.3 ? '.deep' : ''}`;
    else if (roll < 0.85 && bundle.middleGlobs.length > 0) actionClass = pick(bundle.middleGlobs).replace('*', `res${Math.floor(random() * 12)}`);
    else actionClass = `unknown${Math.floor(random() * 50)}.thing.${pick(verbs)}`;
    inputs.push(randomInput(actionClass, random));
  }
  return inputs;
}

export function randomInput(actionClass: string, random: () => number): PolicyInput {
  const params: Record<string, unknown> = {};
  // Integers only, and a parameter is either absent or well typed: Cedar cannot test a value's type.
  if (random() < 0.95) params.target_count = Math.floor(random() * 50);
  if (random() < 0.95) params.amount = Math.floor(random() * 2000);
  if (random() < 0.9) params.environment = random() < 0.5 ? 'production' : 'staging';
  return { action_class: actionClass, params };
}

/**
 * The fail-closed branches, as requests: a count that is a string, negative or fractional; an amount that is a
 * string; an environment that is null or a number; every parameter missing; a claim in `context` that
 * contradicts the params (and one that agrees); an action class that is not valid. Each must be decided the
 * same way by both engines (src/policy/evaluate.ts, claims.ts, conditions/*).
 */
export function failClosedVariant(input: PolicyInput, random: () => number): PolicyInput {
  const params: Record<string, unknown> = { ...input.params };
  const roll = random();
  if (roll < 0.12) params.target_count = String(params.target_count ?? 3);
  else if (roll < 0.24) params.target_count = -1 - Math.floor(random() * 5);
  else if (roll < 0.36) params.target_count = Math.floor(random() * 50) + 0.5;
  else if (roll < 0.46) params.amount = String(Math.floor(random() * 2000));
  else if (roll < 0.56) params.environment = random() < 0.5 ? null : 7;
  else if (roll < 0.66) return { action_class: input.action_class, params: {} };
  else if (roll < 0.78) {
    params.target_count ??= 5;
    return { action_class: input.action_class, params, context: { target_count: (params.target_count as number) + 1 } };
  } else if (roll < 0.86) {
    params.environment ??= 'staging';
    return { action_class: input.action_class, params, context: { environment: params.environment } };
  } else {
    const bad = [input.action_class.toUpperCase(), `${input.action_class}.`, input.action_class.replace('.', '..'), input.action_class.split('.')[0]!];
    return { action_class: bad[Math.floor(random() * bad.length)]!, params };
  }
  return { action_class: input.action_class, params };
}
