import type { Db } from '../db/client';
import type { FileConfig } from '../config/file-config';
import { appendEvents } from '../audit/append';
import { killAgent } from '../controls/kill-switch';
import { newId } from '../lib/ids';
import { DRILL_AGENT, DRILL_LOOP_AGENT, armDrillAgent } from './agents';
import { currentSeq, type DrillContext } from './context';
import { startDrillExecutor } from './executor';
import { badToolCall } from './exercises/bad-tool-call';
import { runawayLoop } from './exercises/runaway-loop';
import { permissionFailure } from './exercises/permission-failure';
import { killSwitch } from './exercises/kill-switch';
import type { DrillExercise, DrillReport } from './report';

export const EXERCISES = {
  'bad-tool-call': badToolCall,
  'runaway-loop': runawayLoop,
  'permission-failure': permissionFailure,
  // Last: it leaves the drill agent killed.
  'kill-switch': killSwitch,
} as const;
export type ExerciseName = keyof typeof EXERCISES;

export const DRILL_EXECUTOR = 'countersign-drill';
export const DRILL_HELD_EXECUTOR = 'countersign-drill-held';
/** The loop agent's request limit: low, so the loop meets it within a few dozen requests. */
const LOOP_RATE_LIMIT = 20;

export class DrillSetupError extends Error {}

export type DrillOptions = {
  db: Db;
  config: FileConfig;
  instances: string[];
  operator: string;
  exercises: ExerciseName[];
  approvalTimeoutMs: number;
  log(line: string): void;
};

/** The drill's executors must be configured (drill/countersign.drill.yaml), both at one URL this host can serve. */
function drillExecutorConfig(config: FileConfig): { url: string; secret: string } {
  const main = config.executors.find((e) => e.name === DRILL_EXECUTOR);
  const held = config.executors.find((e) => e.name === DRILL_HELD_EXECUTOR);
  if (!main || !held) throw new DrillSetupError(`countersign.yaml has no ${!main ? DRILL_EXECUTOR : DRILL_HELD_EXECUTOR} executor: merge drill/countersign.drill.yaml into it`);
  if (main.url !== held.url || main.secret !== held.secret) throw new DrillSetupError(`the ${DRILL_EXECUTOR} and ${DRILL_HELD_EXECUTOR} executors must share one URL and secret (the drill executor)`);
  return { url: main.url, secret: main.secret };
}

/**
 * Runs the tabletop exercises against a running deployment with the drill's own agents and executor, and
 * returns the report (unsigned); the drill's end is recorded as a `drill.completed` audit event.
 */
export async function runDrill(opts: DrillOptions): Promise<DrillReport> {
  const drillId = newId('drill');
  const startedAt = new Date();
  const { url, secret } = drillExecutorConfig(opts.config);
  const executor = await startDrillExecutor(url, secret).catch((e: Error) => {
    throw new DrillSetupError(`cannot serve the drill executor at ${url}: ${e.message}`);
  });
  try {
    const agent = await armDrillAgent(opts.db, DRILL_AGENT, ['countersign_drill.*'], null, opts.operator);
    const loopAgent = await armDrillAgent(opts.db, DRILL_LOOP_AGENT, ['countersign_drill.probe.*'], LOOP_RATE_LIMIT, opts.operator);
    const ctx: DrillContext = {
      db: opts.db,
      instances: opts.instances,
      operator: opts.operator,
      drillId,
      executor,
      agent,
      loopAgent,
      approvalTimeoutMs: opts.approvalTimeoutMs,
      startSeq: await currentSeq(opts.db),
      log: opts.log,
    };
    const results: DrillExercise[] = [];
    for (const name of opts.exercises) {
      opts.log(`exercise ${name}…`);
      const result = await EXERCISES[name](ctx);
      opts.log(`exercise ${name}: ${result.passed ? 'pass' : 'FAIL'} (${result.duration_ms} ms)`);
      results.push(result);
    }
    // Leave nothing of the drill able to act: both agents end killed, their open work cancelled.
    for (const name of [DRILL_LOOP_AGENT, DRILL_AGENT]) await killAgent(opts.db, name, opts.operator, `end of drill ${drillId}`);
    const passed = results.length > 0 && results.every((r) => r.passed);
    const [completed] = await appendEvents(opts.db, [
      {
        type: 'drill.completed',
        actor: opts.operator,
        correlationId: drillId,
        // `result`, not `passed`: the redactor treats any key with "pass" in it as a password.
        data: { drill_id: drillId, result: passed ? 'pass' : 'fail', instances: opts.instances, exercises: results.map((r) => ({ name: r.name, result: r.passed ? 'pass' : 'fail', duration_ms: r.duration_ms })) },
      },
    ]);
    return {
      typ: 'countersign.drill-report',
      v: 1,
      drill_id: drillId,
      started_at: startedAt.toISOString(),
      finished_at: new Date().toISOString(),
      operator: opts.operator,
      instances: opts.instances,
      agents: [agent.name, loopAgent.name],
      passed,
      exercises: results,
      completed_event: completed ?? null,
    };
  } finally {
    await executor.close();
  }
}
