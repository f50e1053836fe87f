import type { TriggerStore } from '../grants.ts';
import type { JsonObject } from '../types.ts';
import type { ViewStore } from '../view-store.ts';
import type { Workspace } from '../workspace.ts';

export interface MethodContext {
  args: Record<string, unknown>;
  ws: Workspace;
  views: ViewStore;
  triggers: TriggerStore;
  /** Issues a single-use Socket Mode URL (apps.connections.open). */
  openSocketUrl: () => string;
}

export type MethodHandler = (ctx: MethodContext) => JsonObject;

export interface MethodSpec {
  handler: MethodHandler;
  /** Which token kind the method takes. */
  token: 'bot' | 'app';
  /** Slack rate-limit tier (1–4); `special` methods have their own rules. */
  tier: 1 | 2 | 3 | 4 | 'special';
  /** apps.connections.open refuses a token sent as a POST parameter. */
  headerTokenOnly?: boolean;
}

export function fail(error: string, extra: Record<string, unknown> = {}): JsonObject {
  return { ok: false, error, ...extra } as JsonObject;
}

export function failWithMessages(error: string, messages: string[] | undefined): JsonObject {
  return messages && messages.length > 0 ? fail(error, { response_metadata: { messages } }) : fail(error);
}

/** Form fields arrive as strings: Slack reads "true"/"1" as true. */
export function bool(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}

export function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}
