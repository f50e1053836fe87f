import { desc, sql } from 'drizzle-orm';
import { appendEvents } from '../audit/append';
import { parseMoment } from '../audit/time-range';
import type { Db } from '../db/client';
import { execRows } from '../db/exec';
import { policyShadow } from '../db/schema';
import { formatPolicyError, loadPolicyBundle, replayDecisionsAsync, type PolicyBundle } from '../policy';
import { CHECKPOINTS, checkGates, shadowRecord, type CheckpointName } from '../policy-rollout/checkpoints';
import { promoteFiles, rollbackFiles } from '../policy-rollout/promote';
import { parseFlags, type CliIo } from './io';
import { withOperatorDb } from './operator-db';
import { recordedDecisions } from './policy';

export const ROLLOUT_USAGE = `usage:
  countersign policy rollout status [--candidate DIR] [--policies DIR] [--json]
      what the candidate decided in shadow beside the enforced bundle: allows and denies it would add, changed approvers
  countersign policy rollout promote --candidate DIR --checkpoint alpha|beta|ga [--policies DIR] [--min-shadowed N] [--replay-since 7d]
      checks the gates (replay against recorded traffic, then the shadow record) and, if they pass, promotes
  countersign policy rollout rollback [--policies DIR]
      restores the bundle the last promotion replaced`;

const str = (v: string | true | undefined) => (typeof v === 'string' ? v : undefined);

async function bundle(dir: string, io: CliIo): Promise<PolicyBundle | null> {
  const r = await loadPolicyBundle(dir);
  if (r.ok) return r.bundle;
  io.stderr(`policy bundle in ${dir} refused:\n${r.errors.map(formatPolicyError).join('\n')}`);
  return null;
}

/** `countersign policy rollout status|promote|rollback`: exit 0 ok, 1 a gate failed or a bundle is invalid, 2 usage. */
export async function runRolloutCommand(argv: string[], io: CliIo, operator: string): Promise<number> {
  const [sub, ...rest] = argv;
  const { flags } = parseFlags(rest);
  if (sub !== 'status' && sub !== 'promote' && sub !== 'rollback') {
    io.stderr(ROLLOUT_USAGE);
    return 2;
  }
  const checkpoint = str(flags.checkpoint) as CheckpointName | undefined;
  if (sub === 'promote' && (!str(flags.candidate) || !checkpoint || !(checkpoint in CHECKPOINTS))) {
    io.stderr(`promote needs --candidate DIR and --checkpoint ${Object.keys(CHECKPOINTS).join('|')}\n${ROLLOUT_USAGE}`);
    return 2;
  }
  return withOperatorDb(io, async (handle, env) => {
    const policiesDir = str(flags.policies) ?? env.COUNTERSIGN_POLICIES;
    if (sub === 'rollback') {
      const enforced = await bundle(policiesDir, io);
      const from = rollbackFiles(policiesDir);
      if (!from) {
        io.stderr(`nothing to roll back: no promotion backup in ${policiesDir}/.rollout`);
        return 1;
      }
      const restored = await bundle(policiesDir, io);
      await appendEvents(handle.db, [{ type: 'policy.rolled_back', actor: operator, policyVersion: restored?.version ?? null, data: { from_version: enforced?.version ?? null, to_version: restored?.version ?? null, backup: from } }]);
      io.stdout(`rolled back ${policiesDir} to ${restored?.version ?? '(an invalid bundle: the servers keep the last good one)'}`);
      return 0;
    }
    const enforced = await bundle(policiesDir, io);
    if (!enforced) return 1;
    const candidateDir = str(flags.candidate) ?? env.COUNTERSIGN_POLICIES_CANDIDATE;
    if (sub === 'status') return status(handle.db, enforced, candidateDir, flags.json === true, io);

    const candidate = await bundle(candidateDir!, io);
    if (!candidate) return 1;
    const since = parseMoment(str(flags['replay-since']) ?? '7d');
    if (!since) {
      io.stderr('--replay-since takes an ISO time or an age (7d)');
      return 2;
    }
    const replay = await replayDecisionsAsync(candidate, recordedDecisions(handle, since));
    const shadow = await shadowRecord(handle.db, candidate.version, enforced.version);
    const min = str(flags['min-shadowed']) ? Number(str(flags['min-shadowed'])) : CHECKPOINTS[checkpoint!].minShadowed;
    const gates = checkGates(replay, shadow, min);
    for (const g of gates) io.stdout(`${g.passed ? 'PASS' : 'FAIL'}  ${g.name}: ${g.detail}`);
    const passed = gates.every((g) => g.passed);
    const data = { checkpoint, candidate_version: candidate.version, previous_version: enforced.version, gates };
    if (!passed) {
      await appendEvents(handle.db, [{ type: 'policy.promotion_refused', actor: operator, policyVersion: enforced.version, data }]);
      io.stdout(`not promoted: ${checkpoint} checkpoint not met`);
      return 1;
    }
    const backup = promoteFiles(candidateDir!, policiesDir, enforced.version);
    await appendEvents(handle.db, [{ type: 'policy.promoted', actor: operator, policyVersion: candidate.version, data: { ...data, backup } }]);
    io.stdout(`promoted ${candidate.version} at the ${checkpoint} checkpoint; the previous bundle is kept in ${backup} (countersign policy rollout rollback)`);
    return 0;
  }, { max: 2, applicationName: 'countersign-rollout' });
}

async function status(db: Db, enforced: PolicyBundle, candidateDir: string | undefined, json: boolean, io: CliIo): Promise<number> {
  let candidateVersion: string | undefined;
  if (candidateDir) {
    const c = await bundle(candidateDir, io);
    if (!c) return 1;
    candidateVersion = c.version;
  } else {
    const [latest] = await db.select().from(policyShadow).orderBy(desc(policyShadow.lastSeen)).limit(1);
    candidateVersion = latest?.candidateVersion;
  }
  if (!candidateVersion) {
    io.stdout('no candidate has been shadowed (set COUNTERSIGN_POLICIES_CANDIDATE on the servers)');
    return 0;
  }
  const record = await shadowRecord(db, candidateVersion, enforced.version);
  const byKind = await execRows<{ kind: string; action_class: string; from: string; to: string; n: number }>(
    db,
    sql`select data->>'kind' as kind, data->>'action_class' as action_class,
          concat(data->'enforced'->>'decision', coalesce(' via ' || (data->'enforced'->>'via'), '')) as "from",
          concat(data->'candidate'->>'decision', coalesce(' via ' || (data->'candidate'->>'via'), '')) as "to", count(*)::int as n
        from audit_events where type = 'policy.shadow_disagreed' and data->>'candidate_version' = ${candidateVersion} and policy_version = ${enforced.version}
        group by 1, 2, 3, 4 order by n desc limit 50`,
  );
  if (json) {
    io.stdout(JSON.stringify({ candidate_version: candidateVersion, enforced_version: enforced.version, record, disagreements: byKind }));
    return 0;
  }
  io.stdout(`candidate ${candidateVersion.slice(0, 19)}… beside enforced ${enforced.version.slice(0, 19)}…`);
  io.stdout(
    record
      ? `shadowed ${record.shadowed}, disagreed ${record.disagreements}: allows it would add ${record.newAllows} (high risk ${record.newAllowsHighRisk}), denies it would add ${record.newDenies}, escalations it would add ${record.newEscalations}, changed approvers ${record.approverChanges}`
      : 'no shadowed requests yet for this pair',
  );
  for (const d of byKind) io.stdout(`  ${d.kind}: ${d.action_class} ${d.from} → ${d.to} (${d.n})`);
  return 0;
}
