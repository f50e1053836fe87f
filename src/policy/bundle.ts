import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { Decision, PolicyInput } from './contract.ts';
import { compileRule, type CompiledRule } from './compiled-rule.ts';
import type { PolicyError } from './errors.ts';
import { evaluateWithIndex } from './evaluate.ts';
import { explainWithIndex, type Explanation } from './explain.ts';
import { parseYamlSource } from './parse/yaml-source.ts';
import { compileParameterPath, type FactSource } from './parameter-path.ts';
import { RuleIndex } from './rule-index.ts';
import { policyFileSchema } from './schema/policy-file.ts';

export type BundleFile = { path: string; name: string; version: string; sha256: string };

export interface PolicyBundle {
  /** `pb_` + sha256 over every file's name and content hash: same files, same version. */
  readonly version: string;
  readonly files: readonly BundleFile[];
  readonly ruleCount: number;
  /** Every rule in bundle order (files sorted by file name, rules in file order). */
  readonly rules: readonly CompiledRule[];
  /**
   * Whether any rule reads this fact source (a bare name counts as `plan` and `params`): facts that cost a
   * query to establish (`usage`) are gathered only for bundles that read them.
   */
  readsFacts(source: FactSource): boolean;
  evaluate(input: PolicyInput): Decision;
  explain(input: PolicyInput): Explanation;
}

export type LoadResult = { ok: true; bundle: PolicyBundle } | { ok: false; errors: PolicyError[] };

export type PolicySourceFile = { path: string; text: string };

/** Builds a bundle from file contents; refuses the whole bundle if any file has any error. */
export function loadPolicyBundleFromFiles(files: readonly PolicySourceFile[]): LoadResult {
  if (files.length === 0) {
    return { ok: false, errors: [{ file: '', line: 0, column: 0, message: 'no policy files: a bundle needs at least one *.yaml file', code: 'no_policy_files' }] };
  }
  const sorted = [...files].sort(compareFiles);
  const errors: PolicyError[] = [];
  const rules: CompiledRule[] = [];
  const bundleFiles: BundleFile[] = [];
  const ruleIds = new Map<string, CompiledRule>();
  const policyNames = new Map<string, string>();

  for (const file of sorted) {
    const parsed = parseYamlSource(file.path, file.text, policyFileSchema);
    if (!parsed.ok) {
      errors.push(...parsed.errors);
      continue;
    }
    const policy = parsed.value;
    const previousFile = policyNames.get(policy.name);
    if (previousFile !== undefined) {
      const at = parsed.map.positionOf(['name']);
      errors.push({ file: file.path, ...at, message: `policy name "${policy.name}" is already used by ${previousFile}`, code: 'duplicate_policy_name' });
    }
    policyNames.set(policy.name, file.path);
    for (const [i, rule] of policy.rules.entries()) {
      const at = parsed.map.positionOf(['rules', i, 'id']);
      const compiled = compileRule(rule, { file: file.path, ...at, order: rules.length });
      const first = ruleIds.get(rule.id);
      if (first) {
        errors.push({
          file: file.path,
          ...at,
          message: `duplicate rule id "${rule.id}" (first defined at ${first.file}:${first.line}:${first.column}); rule ids are unique across the bundle`,
          code: 'duplicate_rule_id',
        });
        continue;
      }
      ruleIds.set(rule.id, compiled);
      rules.push(compiled);
    }
    bundleFiles.push({ path: file.path, name: policy.name, version: policy.version, sha256: sha256(file.text) });
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, bundle: createBundle(bundleFiles, rules) };
}

function createBundle(files: readonly BundleFile[], rules: readonly CompiledRule[]): PolicyBundle {
  const version = bundleVersion(files);
  const index = new RuleIndex(rules);
  const sources = factSourcesOf(rules);
  return Object.freeze({
    version,
    files: Object.freeze(files.map((file) => Object.freeze(file))),
    ruleCount: rules.length,
    rules: Object.freeze(rules),
    readsFacts: (source: FactSource) => sources.has(source),
    evaluate: (input: PolicyInput) => evaluateWithIndex(index, input, version),
    explain: (input: PolicyInput) => explainWithIndex(index, input, version),
  });
}

function factSourcesOf(rules: readonly CompiledRule[]): ReadonlySet<string> {
  const sources = new Set<string>();
  for (const rule of rules) {
    const names = [...rule.conditions.map((c) => c.parameter), ...rule.templateNames];
    for (const name of names) {
      if (name === null) continue;
      const { source } = compileParameterPath(name);
      if (source === null) sources.add('plan').add('params');
      else sources.add(source);
    }
  }
  return sources;
}

/** Hashes file names with contents: renaming a file changes bundle order, so it changes the version. */
function bundleVersion(files: readonly BundleFile[]): string {
  const hash = createHash('sha256').update('countersign-policy-bundle/1\n');
  for (const file of files) hash.update(`${basename(file.path)}\0${file.sha256}\n`);
  return `pb_${hash.digest('hex')}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function compareFiles(a: PolicySourceFile, b: PolicySourceFile): number {
  const byName = compare(basename(a.path), basename(b.path));
  return byName !== 0 ? byName : compare(a.path, b.path);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
