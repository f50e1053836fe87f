import type { Fault, RateLimitRule, SlackEmulatorOptions } from '../types.ts';
import { METHODS } from './methods.ts';

const TIER_PER_MINUTE = { 1: 1, 2: 20, 3: 50, 4: 100 } as const;
const POST_MESSAGE_PER_CHANNEL: RateLimitRule = { limit: 1, windowMs: 1000, per: 'channel' };

type QueuedFault = Fault & { remaining: number };

/** Injected one-off failures (`failNext`), consumed in order per method. */
export class FaultQueue {
  private readonly queues = new Map<string, QueuedFault[]>();

  add(method: string, fault: Fault): void {
    const list = this.queues.get(method) ?? [];
    list.push({ ...fault, remaining: fault.times ?? 1 });
    this.queues.set(method, list);
  }

  take(method: string): Fault | undefined {
    const list = this.queues.get(method);
    const head = list?.[0];
    if (!list || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) list.shift();
    return head;
  }

  clear(): void {
    this.queues.clear();
  }
}

/** Sliding-window rate limits per method (or per method+channel); answers the Retry-After to send. */
export class RateLimiter {
  private readonly rules = new Map<string, RateLimitRule>();
  private readonly hits = new Map<string, number[]>();

  constructor(opts: SlackEmulatorOptions['rateLimits'] = {}) {
    if (opts.tiers) {
      for (const [method, spec] of Object.entries(METHODS)) {
        if (spec.tier !== 'special') this.rules.set(method, { limit: TIER_PER_MINUTE[spec.tier], windowMs: 60_000 });
      }
    }
    const perChannel = opts.chatPostMessagePerChannel;
    if (perChannel) this.rules.set('chat.postMessage', perChannel === true ? POST_MESSAGE_PER_CHANNEL : perChannel);
    for (const [method, rule] of Object.entries(opts.methods ?? {})) this.rules.set(method, rule);
  }

  set(method: string, rule: RateLimitRule | null): void {
    if (rule) this.rules.set(method, rule);
    else this.rules.delete(method);
  }

  /** Counts a call; returns seconds to wait when the call is over the limit (and is then not counted). */
  check(method: string, channel: string | undefined, nowMs: number): number | undefined {
    const rule = this.rules.get(method);
    if (!rule) return undefined;
    const key = rule.per === 'channel' ? `${method}:${channel ?? ''}` : method;
    const recent = (this.hits.get(key) ?? []).filter((t) => nowMs - t < rule.windowMs);
    if (recent.length >= rule.limit) {
      this.hits.set(key, recent);
      const oldest = recent[0] ?? nowMs;
      return Math.max(1, Math.ceil((oldest + rule.windowMs - nowMs) / 1000));
    }
    recent.push(nowMs);
    this.hits.set(key, recent);
    return undefined;
  }
}
