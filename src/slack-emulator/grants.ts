import { randomInt } from 'node:crypto';
import { secret, triggerId } from './ids.ts';

export interface TriggerGrant {
  id: string;
  user: string;
  issuedAt: number;
  exchanged: boolean;
  /** The view the interaction came from, when it came from a modal (views.push needs one). */
  viewId?: string;
}

const TRIGGER_SHAPE = /^\d+\.\d+\.[0-9a-f]+$/;

/** trigger_ids: valid once, for `ttlMs` (3 s on Slack), only for the user who acted. */
export class TriggerStore {
  private readonly grants = new Map<string, TriggerGrant>();

  constructor(private readonly ttlMs: number) {}

  issue(user: string, nowMs: number, viewId?: string): string {
    this.prune(nowMs);
    const id = triggerId(nowMs);
    this.grants.set(id, { id, user, issuedAt: nowMs, exchanged: false, ...(viewId ? { viewId } : {}) });
    return id;
  }

  /** Forgets long-expired triggers so a long sandbox session does not grow without bound. */
  private prune(nowMs: number): void {
    if (this.grants.size < 1000) return;
    for (const [id, grant] of this.grants) if (nowMs - grant.issuedAt > this.ttlMs * 10) this.grants.delete(id);
  }

  exchange(
    id: unknown,
    nowMs: number,
  ): { ok: true; grant: TriggerGrant } | { ok: false; error: 'invalid_trigger_id' | 'expired_trigger_id' | 'exchanged_trigger_id' } {
    if (typeof id !== 'string' || !TRIGGER_SHAPE.test(id)) return { ok: false, error: 'invalid_trigger_id' };
    const grant = this.grants.get(id);
    if (!grant) return { ok: false, error: 'invalid_trigger_id' };
    if (nowMs - grant.issuedAt > this.ttlMs) return { ok: false, error: 'expired_trigger_id' };
    if (grant.exchanged) return { ok: false, error: 'exchanged_trigger_id' };
    grant.exchanged = true;
    return { ok: true, grant };
  }
}

export interface ResponseUrlGrant {
  url: string;
  path: string;
  kind: 'commands' | 'actions';
  user: string;
  channel: string;
  /** The message the interaction came from (actions only). */
  messageTs?: string;
  isEphemeral: boolean;
  issuedAt: number;
  posts: number[];
}

export const RESPONSE_URL_MAX_POSTS = 5;
export const RESPONSE_URL_TTL_MS = 30 * 60 * 1000;

/** response_urls: up to 5 posts within 30 minutes of issue. */
export class ResponseUrlStore {
  private readonly grants = new Map<string, ResponseUrlGrant>();

  issue(
    baseUrl: string,
    teamId: string,
    nowMs: number,
    grant: Omit<ResponseUrlGrant, 'url' | 'path' | 'issuedAt' | 'posts'>,
  ): ResponseUrlGrant {
    if (this.grants.size >= 1000) {
      for (const [key, old] of this.grants) if (nowMs - old.issuedAt > RESPONSE_URL_TTL_MS) this.grants.delete(key);
    }
    const path = `/hooks/${grant.kind}/${teamId}/${randomInt(1_000_000_000, 9_999_999_999)}/${secret()}`;
    const full: ResponseUrlGrant = { ...grant, url: `${baseUrl}${path}`, path, issuedAt: nowMs, posts: [] };
    this.grants.set(path, full);
    return full;
  }

  get(path: string): ResponseUrlGrant | undefined {
    return this.grants.get(path);
  }

  /** Records a post attempt; answers why it is refused, if it is. */
  admit(grant: ResponseUrlGrant, nowMs: number): 'ok' | 'expired_url' | 'used_url' {
    if (nowMs - grant.issuedAt > RESPONSE_URL_TTL_MS) return 'expired_url';
    if (grant.posts.length >= RESPONSE_URL_MAX_POSTS) return 'used_url';
    grant.posts.push(nowMs);
    return 'ok';
  }
}
