import { slackOwner } from '../lib/slack-ids';

/**
 * Whether `userId` owns an agent whose `owner` is `owner`: the owner itself when it is a Slack user, any current
 * member when it is a Slack user group. An owner answers for the agent, so may never approve what it asks
 * (the requester, `on_behalf_of`, is checked beside this in decide.ts). A label owner names nobody.
 */
export async function ownsAgent(
  owner: string,
  userId: string,
  usergroupMembers?: (usergroup: string) => Promise<ReadonlySet<string>>,
): Promise<boolean> {
  const named = slackOwner(owner);
  if (!named) return false;
  if (named.kind === 'user') return named.id === userId.toUpperCase();
  // Without a directory the group cannot be read: no approval can be checked then either (no Slack).
  if (!usergroupMembers) return false;
  return (await usergroupMembers(named.id)).has(userId);
}
