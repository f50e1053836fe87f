/** The demo agent's side of the API: post an action, wait for its status (src/cli/demo.ts, demo-tour.ts). */

export const TERMINAL = new Set(['previewed', 'denied', 'expired', 'cancelled', 'refused', 'committed', 'failed', 'plan_drift']);

export type DemoAgent = { url: string; auth: Record<string, string> };
export type ActionAnswer = Record<string, any>;

export async function postAction(agent: DemoAgent, body: Record<string, unknown>): Promise<{ ok: boolean; view: ActionAnswer }> {
  const res = await fetch(`${agent.url}/v1/actions`, { method: 'POST', headers: { ...agent.auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { ok: res.ok, view: (await res.json()) as ActionAnswer };
}

export async function until(url: string, auth: Record<string, string>, id: string, done: (v: ActionAnswer) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<ActionAnswer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    signal?.throwIfAborted();
    const res = await fetch(`${url}/v1/actions/${id}`, { headers: auth });
    const view = (await res.json()) as ActionAnswer;
    if (done(view)) return view;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${id}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
