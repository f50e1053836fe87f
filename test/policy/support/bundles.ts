import { loadPolicyBundleFromFiles, type PolicyBundle, type PolicyError } from '../../../src/policy/index.ts';

/** Builds a bundle from inline YAML; one string is one file named policy.yaml. */
export function bundleOf(files: string | Record<string, string>): PolicyBundle {
  const result = loadPolicyBundleFromFiles(toFiles(files));
  if (!result.ok) throw new Error(`expected a valid bundle:\n${result.errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.message} [${e.code}]`).join('\n')}`);
  return result.bundle;
}

export function errorsOf(files: string | Record<string, string>): PolicyError[] {
  const result = loadPolicyBundleFromFiles(toFiles(files));
  if (result.ok) throw new Error('expected the bundle to be refused');
  return result.errors;
}

function toFiles(files: string | Record<string, string>): { path: string; text: string }[] {
  if (typeof files === 'string') return [{ path: 'policy.yaml', text: files }];
  return Object.entries(files).map(([path, text]) => ({ path, text }));
}

/** A policy file header followed by the given rules block (already indented YAML list items). */
export function policy(rules: string, name = 'test-policy'): string {
  return `name: ${name}\nversion: "1"\nrules:\n${rules}`;
}
