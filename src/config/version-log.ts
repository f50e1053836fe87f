import { readFileSync, statSync } from 'node:fs';
import { desc, eq, and } from 'drizzle-orm';
import type { Db } from '../db/client';
import { configVersions } from '../db/schema';
import { appendEvents } from '../audit/append';
import { currentSecretKeyPattern, redact } from '../audit/redact';
import { canonicalJson, sha256Hex } from '../lib/canonical-json';
import type { FileConfig } from './file-config';

export type ConfigChange = { path: string; before: unknown; after: unknown };

/**
 * The configuration as the version log keeps it: executors and budgets keyed by name (so a diff says
 * `executors.payments.url`, not `executors.3.url`), every value under a secret-looking key replaced by a
 * fingerprint (a changed secret shows as changed, never as itself), other values redacted as in the evidence.
 */
export function configSnapshot(config: FileConfig): Record<string, unknown> {
  const pattern = currentSecretKeyPattern();
  const byName = <T extends { name: string }>(list: T[]) => Object.fromEntries(list.map((x) => [x.name, x]));
  const shaped = { ...config, executors: byName(config.executors), budgets: byName(config.budgets) };
  const clean = (v: unknown): unknown => {
    if (v && typeof v === 'object') {
      return Array.isArray(v)
        ? v.map(clean)
        : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, pattern.test(k) && typeof x === 'string' ? `[REDACTED sha256:${sha256Hex(x).slice(0, 12)}]` : clean(x)]));
    }
    // Secrets inside values (a bearer token in a URL, a card number) are redacted as in the evidence.
    return typeof v === 'string' ? redact(v) : v;
  };
  return clean(shaped) as Record<string, unknown>;
}

export function configVersion(snapshot: Record<string, unknown>): string {
  return `cfg_${sha256Hex(canonicalJson(snapshot)).slice(0, 32)}`;
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, value);
}

/** Every leaf that differs between two snapshots (arrays compared whole). */
export function configDiff(before: Record<string, unknown> | null, after: Record<string, unknown>): ConfigChange[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  if (before) flatten(before, '', a);
  flatten(after, '', b);
  const changes: ConfigChange[] = [];
  for (const path of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.has(path) ? a.get(path) : undefined;
    const y = b.has(path) ? b.get(path) : undefined;
    if (canonicalJson(x ?? null) !== canonicalJson(y ?? null)) changes.push({ path, before: x ?? null, after: y ?? null });
  }
  return changes;
}

/** The file's owner, as the closest the server can get to who changed it (`uid:N (name)`). */
export function fileOwner(path: string): string {
  try {
    const uid = statSync(path).uid;
    const name = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .find((f) => f[2] === String(uid))?.[0];
    return `file-owner:uid:${uid}${name ? ` (${name})` : ''}`;
  } catch {
    return 'file-owner:unknown';
  }
}

export async function lastLoadedConfig(db: Db, path: string): Promise<{ version: string; snapshot: Record<string, unknown> | null } | null> {
  const [row] = await db
    .select({ version: configVersions.version, snapshot: configVersions.snapshot })
    .from(configVersions)
    .where(and(eq(configVersions.path, path), eq(configVersions.outcome, 'loaded')))
    .orderBy(desc(configVersions.seq))
    .limit(1);
  return row ?? null;
}

export type ConfigVersionRecord = {
  outcome: 'loaded' | 'refused';
  version: string;
  path: string;
  snapshot: Record<string, unknown> | null;
  diff: ConfigChange[];
  errors: string[] | null;
  changedBy: string;
  reason: string;
  instance: string;
};

/** One version_log row and its evidence event, in one transaction. */
export async function recordConfigVersion(db: Db, r: ConfigVersionRecord): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.insert(configVersions).values(r);
    await appendEvents(tx, [
      {
        type: r.outcome === 'loaded' ? 'config.loaded' : 'config.refused',
        actor: 'system',
        data: { version: r.version, path: r.path, diff: r.diff, errors: r.errors, changed_by: r.changedBy, reason: r.reason, instance: r.instance },
      },
    ]);
  });
}
