import type { WebClient } from '@slack/web-api';
import type { FileConfig } from '../config/file-config';

const USERGROUP_TTL_MS = 60_000;

/**
 * Who may approve for a group: its explicit members plus the current members of its Slack user group
 * (on-call rotations are usually kept in one by a paging tool). User-group lists are cached briefly.
 */
export function createApproverDirectory(config: FileConfig, client: WebClient) {
  const cache = new Map<string, { users: Set<string>; at: number }>();

  async function usergroupMembers(usergroup: string): Promise<Set<string>> {
    const hit = cache.get(usergroup);
    if (hit && Date.now() - hit.at < USERGROUP_TTL_MS) return hit.users;
    const res = await client.usergroups.users.list({ usergroup });
    const users = new Set(res.users ?? []);
    cache.set(usergroup, { users, at: Date.now() });
    return users;
  }

  async function isMember(groupName: string, userId: string): Promise<boolean> {
    const group = config.approver_groups[groupName] ?? (groupName === 'admins' ? config.admins : groupName === 'auditors' ? config.auditors : undefined);
    if (!group) return false;
    if (group.members?.includes(userId)) return true;
    if (group.usergroup) return (await usergroupMembers(group.usergroup)).has(userId);
    return false;
  }

  return { isMember, clearCache: () => cache.clear() };
}

export type ApproverDirectory = ReturnType<typeof createApproverDirectory>;
