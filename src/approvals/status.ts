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
];

export function isTerminal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}
