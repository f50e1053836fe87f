/** Where and how an action is executed, as recorded in `commit.started` (the executed action's tool surface). */
export type ToolSurface = { kind: 'http'; method: 'POST'; endpoint: string | null; action_class: string; idempotency_key: string };

/** The executor endpoint without credentials, query or fragment, so the evidence names the tool but leaks nothing. */
export function toolSurface(executor: { url: string } | null | undefined, action: { id: string; actionClass: string }): ToolSurface {
  let endpoint: string | null = null;
  if (executor) {
    try {
      const u = new URL(executor.url);
      endpoint = `${u.protocol}//${u.host}${u.pathname}`;
    } catch {
      endpoint = null;
    }
  }
  return { kind: 'http', method: 'POST', endpoint, action_class: action.actionClass, idempotency_key: action.id };
}
