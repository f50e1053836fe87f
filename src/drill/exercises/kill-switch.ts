import { runKillCommand } from '../../cli/kill';
import type { KillResult } from '../../controls/kill-switch';
import { drillRequest, evidence, exercise, getAction, postAction, waitFor, type DrillContext } from '../context';
import type { DrillExercise } from '../report';

const problemCode = (body: Record<string, unknown>) => String(body.type ?? '').split('/').pop();
const REFUSALS = new Set(['unauthenticated', 'agent-suspended']);

/**
 * The kill switch as on-call pulls it (`countersign kill AGENT`): with a pending approval and queued commits
 * open, the agent is suspended, its tokens revoked, the pending approval cancelled and the queued commits
 * frozen; then every instance is asked until it refuses, and the time from the kill to each refusal is kept.
 */
export async function killSwitch(ctx: DrillContext): Promise<DrillExercise> {
  const ex = exercise('kill-switch', 'Kill switch (suspend, revoke, cancel, freeze; time to refusal on every instance)');
  const { agent } = ctx;
  const first = ctx.instances[0]!;

  const pending = await postAction(first, agent.token, drillRequest(ctx, 'countersign_drill.change.apply'));
  const probes = [];
  for (let i = 0; i < 3; i++) probes.push(await postAction(first, agent.token, drillRequest(ctx, 'countersign_drill.probe.queued')));
  const probeIds = probes.map((p) => String(p.body.id ?? '')).filter(Boolean);
  // The probes' executor releases one a day: wait until the relay has queued them, then at most one is out.
  await waitFor(async () => {
    const states = await Promise.all(probeIds.map(async (id) => String((await getAction(first, agent.token, id)).body.status)));
    return states.every((s) => s !== 'approved');
  }, 10_000);
  const open = await Promise.all(probeIds.map(async (id) => ({ id, status: String((await getAction(first, agent.token, id)).body.status) })));
  const queued = open.filter((p) => p.status === 'queued').map((p) => p.id);
  ex.step({
    name: 'open work before the kill',
    passed: pending.body.status === 'pending_approval' && queued.length >= 1,
    detail: `pending approval ${String(pending.body.id)}; probes ${open.map((p) => `${p.id} ${p.status}`).join(', ')}`,
    evidence: await evidence(ctx, { agentId: agent.id, types: ['commit.queued'] }),
  });
  const reachable = await Promise.all(ctx.instances.map(async (url) => (await getAction(url, agent.token, String(pending.body.id))).status));
  ex.step({ name: 'every instance serves the agent before the kill', passed: reachable.every((s) => s === 200), detail: ctx.instances.map((u, i) => `${u}: ${reachable[i]}`).join(', '), evidence: [] });

  let out = '';
  let err = '';
  const killStarted = Date.now();
  const code = await runKillCommand('kill', [agent.name, '--reason', `drill ${ctx.drillId}`, '--json'], { stdout: (s) => void (out += s), stderr: (s) => void (err += s), readStdin: async () => '' }, ctx.operator);
  const killedAt = Date.now();
  const kill = code === 0 ? (JSON.parse(out) as KillResult) : null;
  ex.measurements.kill_command_ms = killedAt - killStarted;
  ex.step({
    name: 'countersign kill',
    passed: !!kill && kill.tokens_revoked.length >= 1,
    detail: kill ? `suspended ${kill.agent.name}, revoked ${kill.tokens_revoked.length} token(s), cancelled ${kill.cancelled.length} action(s)` : `exit ${code}: ${err}`,
    evidence: await evidence(ctx, { agentId: agent.id, types: ['agent.killed'] }),
  });

  // Every instance, asked as fast as it answers, until it refuses; nothing may be accepted after the kill.
  const perInstance = await Promise.all(
    ctx.instances.map(async (url) => {
      let accepted = 0;
      for (let attempt = 0; attempt < 500; attempt++) {
        const r = await postAction(url, agent.token, drillRequest(ctx, 'countersign_drill.probe.after_kill'));
        if (r.status === 201) accepted++;
        else if (REFUSALS.has(problemCode(r.body) ?? '')) return { instance: url, refused_after_ms: Date.now() - killedAt, refusal: `${r.status} ${problemCode(r.body)}`, accepted_after_kill: accepted };
      }
      return { instance: url, refused_after_ms: null, refusal: 'never', accepted_after_kill: accepted };
    }),
  );
  ex.measurements.per_instance = perInstance;
  const times = perInstance.map((p) => p.refused_after_ms).filter((t): t is number => t !== null);
  ex.measurements.kill_to_last_refusal_ms = times.length === perInstance.length ? Math.max(...times) : null;
  ex.step({
    name: 'every instance refuses the agent',
    passed: perInstance.every((p) => p.refused_after_ms !== null && p.accepted_after_kill === 0),
    detail: perInstance.map((p) => `${p.instance}: ${p.refusal} after ${p.refused_after_ms ?? '∞'} ms, ${p.accepted_after_kill} accepted after the kill`).join('; '),
    evidence: [],
  });

  const pendingCancelled = kill?.cancelled.includes(String(pending.body.id)) ?? false;
  const queuedCancelled = queued.every((id) => kill?.cancelled.includes(id));
  ex.step({
    name: 'pending approval cancelled, its card update queued',
    passed: pendingCancelled && (kill?.cards.includes(String(pending.body.id)) ?? false),
    detail: `${String(pending.body.id)} ${pendingCancelled ? 'cancelled' : 'NOT cancelled'}`,
    evidence: await evidence(ctx, { actionId: String(pending.body.id), types: ['action.cancelled'] }),
  });
  // Frozen: the queued commits never reach the executor, even after the queue has had time to try.
  await new Promise((r) => setTimeout(r, 2000));
  const released = ctx.executor.calls.filter((c) => queued.includes(c.action_id) && c.at >= killStarted);
  ex.step({
    name: 'queued commits frozen',
    passed: queuedCancelled && released.length === 0,
    detail: `${queued.length} queued commit(s) cancelled, ${released.length} released after the kill`,
    evidence: (await Promise.all(queued.map((id) => evidence(ctx, { actionId: id, types: ['action.cancelled'] })))).flat(),
  });
  return ex.finish();
}
