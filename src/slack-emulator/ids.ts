import { randomBytes, randomInt } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A Slack-looking id: prefix letter + 10 upper-case alphanumerics (T…, A…, U…, B…, V…, D…). */
export function slackId(prefix: string): string {
  let id = prefix;
  for (let i = 0; i < 10; i++) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}

/** `1234567890123.1234567890.<32 hex>`, the shape Slack's trigger_id has. */
export function triggerId(nowMs: number): string {
  return `${nowMs}.${randomInt(1_000_000_000, 9_999_999_999)}.${randomBytes(16).toString('hex')}`;
}

export function secret(): string {
  return randomBytes(12).toString('hex');
}

/** Produces strictly increasing message timestamps in Slack's `seconds.micros` form. */
export class TsClock {
  private lastMicros = 0;

  next(nowMs: number): string {
    const micros = Math.max(nowMs * 1000, this.lastMicros + 1);
    this.lastMicros = micros;
    const seconds = Math.floor(micros / 1_000_000);
    const fraction = String(micros % 1_000_000).padStart(6, '0');
    return `${seconds}.${fraction}`;
  }
}
