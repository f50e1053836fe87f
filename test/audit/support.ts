import { sql } from 'drizzle-orm';
import { appendEvents } from '../../src/audit/append';
import type { Db } from '../../src/db/client';
import type { CliIo } from '../../src/cli/io';

/** Appends `n` events in transactions of up to three, like the product does. */
export async function appendSample(db: Db, n: number, base: { actionId?: string; correlationId?: string; agentId?: string } = {}): Promise<void> {
  for (let i = 0; i < n; ) {
    const batch = Math.min(3, n - i);
    await appendEvents(
      db,
      Array.from({ length: batch }, (_, j) => ({
        type: j === 0 ? 'action.requested' : 'policy.decided',
        actor: 'system',
        actionId: base.actionId ?? `act_sample_${i + j}`,
        correlationId: base.correlationId ?? `corr_${i + j}`,
        agentId: base.agentId ?? 'agt_sample',
        policyVersion: 'v1',
        data: { i: i + j, nested: { list: [1, 2, { k: 'v' }] } },
      })),
    );
    i += batch;
  }
}

/** Runs `fn` with the append-only trigger switched off: the test plays an attacker with table rights. */
export async function tamper(db: Db, fn: (db: Db) => Promise<unknown>): Promise<void> {
  await db.execute(sql`alter table audit_events disable trigger audit_events_append_only`);
  try {
    await fn(db);
  } finally {
    await db.execute(sql`alter table audit_events enable trigger audit_events_append_only`);
  }
}

export function captureIo(stdin = ''): CliIo & { out: string[]; err: string[]; text(): string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (s) => void out.push(s),
    stderr: (s) => void err.push(s),
    readStdin: async () => stdin,
    text: () => out.join('\n'),
  };
}
