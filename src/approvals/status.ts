import { z } from 'zod';

/** The states of docs/lifecycle.md. Add one only with a reason written down there. */
export const actionStatus = z.enum([
  'previewed',
  'denied',
  'pending_approval',
  'approved',
  'queued',
  'executing',
  'committed',
  'failed',
  'expired',
  'cancelled',
  'refused',
  /** The executor's plan at release differs from the plan that was approved: nothing ran (docs/lifecycle.md). */
  'plan_drift',
]);
export type ActionStatus = z.infer<typeof actionStatus>;

export const TERMINAL_STATUSES: readonly ActionStatus[] = [
  'previewed',
  'denied',
  'expired',
  'cancelled',
  'refused',
  'committed',
  'failed',
  'plan_drift',
];

export function isTerminal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}
