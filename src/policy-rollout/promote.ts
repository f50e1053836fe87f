import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Files of a policy directory that a promotion moves: policies and their test files (never subdirectories). */
const isBundleFile = (name: string) => !name.startsWith('.') && /\.ya?ml$/.test(name);
const ROLLOUT_DIR = '.rollout';

function bundleFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => isBundleFile(n) && statSync(join(dir, n)).isFile());
}

/**
 * Puts the candidate's files in the watched policy directory, keeping the files in force under
 * `.rollout/<version>/` (the loader skips dot-directories) so a rollback can restore them. The servers see the
 * change and reload, validating the bundle whole as always.
 */
export function promoteFiles(candidateDir: string, policiesDir: string, enforcedVersion: string): string {
  const backup = join(policiesDir, ROLLOUT_DIR, `${new Date().toISOString().replace(/[:.]/g, '-')}_${enforcedVersion.slice(0, 16)}`);
  mkdirSync(backup, { recursive: true });
  const current = bundleFiles(policiesDir);
  for (const f of current) copyFileSync(join(policiesDir, f), join(backup, f));
  const incoming = bundleFiles(candidateDir);
  for (const f of incoming) copyFileSync(join(candidateDir, f), join(policiesDir, f));
  for (const f of current) if (!incoming.includes(f)) rmSync(join(policiesDir, f));
  return backup;
}

/** Restores the most recent backup made by a promotion; returns its directory, or null when there is none. */
export function rollbackFiles(policiesDir: string): string | null {
  const root = join(policiesDir, ROLLOUT_DIR);
  if (!existsSync(root)) return null;
  const backups = readdirSync(root).sort();
  const latest = backups.at(-1);
  if (!latest) return null;
  const from = join(root, latest);
  const restored = bundleFiles(from);
  for (const f of bundleFiles(policiesDir)) if (!restored.includes(f)) rmSync(join(policiesDir, f));
  for (const f of restored) copyFileSync(join(from, f), join(policiesDir, f));
  // Used once: a second rollback goes one step further back.
  rmSync(from, { recursive: true });
  return from;
}
