import { sql } from 'drizzle-orm';
import { Counter } from 'prom-client';
import type { Db } from '../db/client';
import { policyShadow } from '../db/schema';
import { appendEvents, type AuditEventInput } from '../audit/append';
import { logger } from '../lib/logger';
import type { Decision, PolicyBundle, PolicyInput } from '../policy';
import type { Metrics } from '../observability';
import { compareDecisions, decisionSummary } from './compare';

export type ShadowEvaluator = {
  /** Decides `input` with the candidate too; never throws, never changes what the enforced decision does. */
  observe(input: PolicyInput, enforced: Decision): void;
  flush(): Promise<void>;
  close(): Promise<void>;
};

type Counts = { shadowed: number; disagreements: number; newAllows: number; newAllowsHighRisk: number; newDenies: number; newEscalations: number; approverChanges: number };
const zero = (): Counts => ({ shadowed: 0, disagreements: 0, newAllows: 0, newAllowsHighRisk: 0, newDenies: 0, newEscalations: 0, approverChanges: 0 });
/** Bounds memory if the database is unreachable for a while: counts are kept, event details beyond this dropped. */
const MAX_PENDING_EVENTS = 5000;

/**
 * Runs a candidate bundle in shadow beside the enforced one: both decide every request, only the enforced
 * decision counts. Counts and disagreement events are kept in memory and written every `flushEveryMs` in one
 * transaction (counters added to `policy_shadow`, one `policy.shadow_disagreed` event per disagreement), so the
 * intake pays one extra evaluation (microseconds) and no write.
 */
export function createShadow(opts: { db: Db; candidate: { current(): PolicyBundle }; metrics?: Metrics; flushEveryMs?: number }): ShadowEvaluator {
  const counter = opts.metrics
    ? new Counter({ name: 'countersign_policy_shadow_total', help: 'Requests decided by the shadow candidate bundle, by result (agree or the kind of disagreement)', labelNames: ['result'] as const, registers: [opts.metrics.registry] })
    : null;
  let counts = new Map<string, Counts>();
  let events: AuditEventInput[] = [];
  let dropped = 0;

  const observe = (input: PolicyInput, enforced: Decision) => {
    try {
      const candidate = opts.candidate.current();
      const theirs = candidate.evaluate(input);
      const key = `${candidate.version}\u0000${enforced.policy_version}`;
      const c = counts.get(key) ?? zero();
      counts.set(key, c);
      c.shadowed++;
      const diff = compareDecisions(enforced, theirs);
      counter?.inc({ result: diff?.kind ?? 'agree' });
      if (!diff) return;
      c.disagreements++;
      if (diff.kind === 'new-allow') c.newAllows++;
      if (diff.kind === 'new-allow' && diff.highRisk) c.newAllowsHighRisk++;
      if (diff.kind === 'new-deny') c.newDenies++;
      if (diff.kind === 'new-escalation') c.newEscalations++;
      if (diff.kind === 'approver-changed') c.approverChanges++;
      if (events.length >= MAX_PENDING_EVENTS) {
        dropped++;
        return;
      }
      events.push({
        type: 'policy.shadow_disagreed',
        actor: 'system',
        policyVersion: enforced.policy_version,
        data: { candidate_version: candidate.version, kind: diff.kind, high_risk: diff.highRisk, action_class: input.action_class, enforced: decisionSummary(enforced), candidate: decisionSummary(theirs) },
      });
    } catch (err) {
      logger.warn({ err }, 'shadow evaluation failed; the enforced decision is unaffected');
    }
  };

  const flush = async () => {
    if (counts.size === 0 && events.length === 0) return;
    const batch = counts;
    const batchEvents = events;
    const batchDropped = dropped;
    counts = new Map();
    events = [];
    dropped = 0;
    try {
      await opts.db.transaction(async (tx) => {
        for (const [key, c] of batch) {
          const [candidateVersion, enforcedVersion] = key.split('\u0000') as [string, string];
          await tx
            .insert(policyShadow)
            .values({ candidateVersion, enforcedVersion, ...c })
            .onConflictDoUpdate({
              target: [policyShadow.candidateVersion, policyShadow.enforcedVersion],
              set: {
                shadowed: sql`${policyShadow.shadowed} + ${c.shadowed}`,
                disagreements: sql`${policyShadow.disagreements} + ${c.disagreements}`,
                newAllows: sql`${policyShadow.newAllows} + ${c.newAllows}`,
                newAllowsHighRisk: sql`${policyShadow.newAllowsHighRisk} + ${c.newAllowsHighRisk}`,
                newDenies: sql`${policyShadow.newDenies} + ${c.newDenies}`,
                newEscalations: sql`${policyShadow.newEscalations} + ${c.newEscalations}`,
                approverChanges: sql`${policyShadow.approverChanges} + ${c.approverChanges}`,
                lastSeen: sql`now()`,
              },
            });
        }
        if (batchDropped) logger.warn({ dropped: batchDropped }, 'shadow disagreement details dropped (counted, not itemised)');
        if (batchEvents.length) await appendEvents(tx, batchEvents);
      });
    } catch (err) {
      // Put them back: the next flush tries again (bounded by MAX_PENDING_EVENTS).
      for (const [key, c] of batch) {
        const now = counts.get(key) ?? zero();
        for (const k of Object.keys(c) as Array<keyof Counts>) now[k] += c[k];
        counts.set(key, now);
      }
      events = [...batchEvents, ...events].slice(0, MAX_PENDING_EVENTS);
      logger.warn({ err }, 'could not record shadow decisions; will retry');
    }
  };

  const timer = setInterval(() => void flush(), opts.flushEveryMs ?? 2000);
  timer.unref();
  return {
    observe,
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}

/** The intake's one hook: called where the enforced decision is made. */
export function shadowDecide(deps: { shadow?: ShadowEvaluator }, input: PolicyInput, decision: Decision): void {
  deps.shadow?.observe(input, decision);
}
