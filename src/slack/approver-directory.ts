import type { WebClient } from '@slack/web-api';
import type { FileConfig } from '../config/file-config';
import type { ApproverStanding } from '../approvals/decide';

const USERGROUP_TTL_MS = 60_000;
const USER_TTL_MS = 5 * 60_000;

type Cached<T> = { value: Promise<T>; at: number };

/**
 * Who may approve for a group: its explicit members plus the current members of its Slack user group
 * (on-call rotations are usually kept in one by a paging tool). Bots and deactivated accounts never
 * approve, whatever the config says (users.info). Slack answers are cached briefly, and concurrent
 * look-ups of the same group or user share one call. A failed call is not cached: the click is refused
 * by the caller's error path and can be tried again.
 */
export function createApproverDirectory(config: FileConfig, client: WebClient, opts: { usergroupTtlMs?: number; userTtlMs?: number } = {}) {
  const groups = new Map<string, Cached<Set<string>>>();
  const users = new Map<string, Cached<{ exists: boolean; isHuman: boolean }>>();

  function cached<T>(map: Map<string, Cached<T>>, key: string, ttl: number, load: () => Promise<T>): Promise<T> {
    const hit = map.get(key);
    if (hit && Date.now() - hit.at < ttl) return hit.value;
    const value = load();
    map.set(key, { value, at: Date.now() });
    value.catch(() => map.delete(key));
    return value;
  }

  const usergroupMembers = (usergroup: string) =>
    cached(groups, usergroup, opts.usergroupTtlMs ?? USERGROUP_TTL_MS, async () => {
      const res = await client.usergroups.users.list({ usergroup });
      return new Set(res.users ?? []);
    });

  const person = (userId: string) =>
    cached(users, userId, opts.userTtlMs ?? USER_TTL_MS, async () => {
      try {
        const res = await client.users.info({ user: userId });
        const u = res.user;
        return { exists: Boolean(u), isHuman: Boolean(u) && !u?.is_bot && !u?.deleted && u?.id !== 'USLACKBOT' };
      } catch (err) {
        // Slack's word that there is no such user is an answer, not an outage.
        if ((err as { data?: { error?: string } }).data?.error === 'user_not_found') return { exists: false, isHuman: false };
        throw err;
      }
    });

  function groupConfig(groupName: string) {
    return config.approver_groups[groupName] ?? (groupName === 'admins' ? config.admins : groupName === 'auditors' ? config.auditors : undefined);
  }

  /** Whether `userId` is in the group (explicit member or in its Slack user group). Says nothing about bots. */
  async function isMember(groupName: string, userId: string): Promise<boolean> {
    const group = groupConfig(groupName);
    if (!group) return false;
    if (group.members?.includes(userId)) return true;
    if (group.usergroup) return (await usergroupMembers(group.usergroup)).has(userId);
    return false;
  }

  /** How a user stands towards any of `groupNames`: an approver only if a member of one and a human. */
  async function standing(groupNames: readonly string[], userId: string): Promise<ApproverStanding> {
    let member = false;
    for (const g of groupNames) {
      if (await isMember(g, userId)) {
        member = true;
        break;
      }
    }
    if (!member) return 'not-member';
    return (await person(userId)).isHuman ? 'approver' : 'not-human';
  }

  /** The intake's check of `on_behalf_of`: a human the workspace knows, or not. Throws when Slack cannot be asked. */
  async function lookupUser(userId: string): Promise<'human' | 'not-human' | 'unknown'> {
    const p = await person(userId);
    return !p.exists ? 'unknown' : p.isHuman ? 'human' : 'not-human';
  }

  /** The approver groups a user belongs to (the `requester.groups` fact). */
  async function groupsOf(userId: string): Promise<string[]> {
    const names = Object.keys(config.approver_groups);
    const member = await Promise.all(names.map((name) => isMember(name, userId)));
    return names.filter((_, i) => member[i]);
  }

  return {
    isMember,
    standing,
    lookupUser,
    groupsOf,
    usergroupMembers: (usergroup: string): Promise<ReadonlySet<string>> => usergroupMembers(usergroup),
    clearCache: () => {
      groups.clear();
      users.clear();
    },
  };
}

export type ApproverDirectory = ReturnType<typeof createApproverDirectory>;
