// Types for blocks.js (plain JavaScript so the browser runs it without a build step).
export type RenderContext = {
  /** Slack user id → display name, for <@U…> mentions. */
  users?: Record<string, string>;
  /** false renders buttons disabled. */
  interactive?: boolean;
  /** Modal input errors by block_id (response_action: errors). */
  errors?: Record<string, string>;
};
export function escapeHtml(text: unknown): string;
export function mrkdwn(text: string, ctx?: RenderContext): string;
export function textObject(t: { type: string; text: string } | undefined, ctx?: RenderContext): string;
export function renderBlock(block: Record<string, unknown>, ctx?: RenderContext): string;
export function renderMessage(message: { text?: string; blocks?: Record<string, unknown>[] }, ctx?: RenderContext): string;
export function validateInputs(view: { blocks?: Record<string, unknown>[] } | undefined, values: Record<string, Record<string, unknown>>): Record<string, string>;
