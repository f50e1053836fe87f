import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { auditEvents } from '../db/schema';
import type { DrillExecutor } from './executor';
import type { DrillExercise, DrillStep } from './report';

export type DrillAgent = { name: string; id: string; token: string };

/** What every exercise gets: the deployment (database + instance URLs), its drill agents and executor. */
export type DrillContext = {
  db: Db;
  instances: string[];
  operator: string;
  drillId: string;
  executor: DrillExecutor;
  agent: DrillAgent;
  loopAgent: DrillAgent;
  /** How long a human has to approve the permission-failure card. */
  approvalTimeoutMs: number;
  /** Evidence before this seq predates the drill. */
  startSeq: number;
  log(line: string): void;
};

export type ApiAnswer = { status: number; body: Record<string, any> };

/** One intake request as an agent sends it. */
export async function postAction(instance: string, token: string, body: Record<string, unknown>): Promise<ApiAnswer> {
  const res = await fetch(new URL('/v1/actions', instance), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

export async function getAction(instance: string, token: string, id: string): Promise<ApiAnswer> {
  const res = await fetch(new URL(`/v1/actions/${id}`, instance), { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

let n = 0;
/** A drill request body; every request of a drill carries the drill id in its correlation id unless given. */
export function drillRequest(ctx: DrillContext, actionClass: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  n++;
  return {
    action_class: actionClass,
    params: { note: `drill ${ctx.drillId}` },
    context: { drill: ctx.drillId },
    idempotency_key: `${ctx.drillId}-${n}-${Math.random().toString(36).slice(2, 8)}`,
    correlation_id: `${ctx.drillId}-${n}`,
    justification: `countersign drill ${ctx.drillId}`,
    ...extra,
  };
}

/** Ids of the drill's audit events of `types`, for an action or an agent. */
export async function evidence(ctx: DrillContext, where: { actionId?: string; agentId?: string; types: string[] }): Promise<string[]> {
  const rows = await ctx.db
    .select({ id: auditEvents.id })
    .from(auditEvents)
    .where(
      and(
        gt(auditEvents.seq, ctx.startSeq),
        inArray(auditEvents.type, where.types),
        where.actionId ? eq(auditEvents.actionId, where.actionId) : undefined,
        where.agentId ? eq(auditEvents.agentId, where.agentId) : undefined,
      ),
    )
    .orderBy(auditEvents.seq);
  return rows.map((r) => r.id);
}

export async function currentSeq(db: Db): Promise<number> {
  const [row] = await db.select({ seq: sql<number>`coalesce(max(${auditEvents.seq}), 0)::bigint` }).from(auditEvents);
  return Number(row?.seq ?? 0);
}

export async function waitFor<T>(what: () => Promise<T | null | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (v) return v;
    if (Date.now() >= deadline) return null;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Collects an exercise's steps and times them; a step that throws fails with the error as its detail. */
export function exercise(name: DrillExercise['name'], title: string) {
  const started = Date.now();
  const steps: DrillStep[] = [];
  const measurements: Record<string, unknown> = {};
  return {
    measurements,
    step(s: Omit<DrillStep, 'at_ms'>): boolean {
      steps.push({ ...s, at_ms: Date.now() - started });
      return s.passed;
    },
    finish(): DrillExercise {
      return { name, title, passed: steps.length > 0 && steps.every((s) => s.passed), duration_ms: Date.now() - started, steps, measurements };
    },
  };
}
