import type { PolicyBundle } from '../bundle.ts';
import { formatPolicyError } from '../errors.ts';
import { loadPolicyBundle } from '../loader.ts';
import type { PolicyCliIo } from './io.ts';

/** Loads a bundle for a command, printing every error (one per line) when it is refused. */
export async function loadBundleForCli(dir: string, io: PolicyCliIo): Promise<PolicyBundle | null> {
  const result = await loadPolicyBundle(dir);
  if (result.ok) return result.bundle;
  io.stderr(`policy bundle ${dir} refused (${result.errors.length} error${result.errors.length === 1 ? '' : 's'}):\n`);
  for (const error of result.errors) io.stderr(`${formatPolicyError(error)}\n`);
  return null;
}
