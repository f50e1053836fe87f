import type { Agent } from '../auth/agents';
import { ownsAgent } from '../approvals/self-approval';
import { Problem } from '../lib/errors';
import type { RequesterDirectory } from './types';

/** The `requester` fact: the validated human behind the request. */
export type Requester = { id: string; groups: string[]; is_owner: boolean };

/**
 * The requester step: `on_behalf_of` (already in normal form, src/intake/schemas.ts) must be a human the Slack
 * directory knows. Their approver groups and whether they own the agent become facts a policy can read.
 */
export async function establishRequester(directory: RequesterDirectory | undefined, agent: Pick<Agent, 'owner'>, onBehalfOf: string | undefined): Promise<Requester | null> {
  if (!onBehalfOf) return null;
  if (!directory) return { id: onBehalfOf, groups: [], is_owner: await ownsAgent(agent.owner, onBehalfOf) };
  let known: Awaited<ReturnType<RequesterDirectory['lookupUser']>>;
  let groups: string[];
  try {
    [known, groups] = await Promise.all([directory.lookupUser(onBehalfOf), directory.groupsOf(onBehalfOf)]);
  } catch {
    throw new Problem('directory-unavailable', 'Slack did not answer whether on_behalf_of is a known user; nothing was recorded', { retryAfterSeconds: 5 });
  }
  if (known === 'unknown') throw new Problem('unknown-requester', `on_behalf_of ${onBehalfOf} is not a user of this Slack workspace`, { extensions: { on_behalf_of: onBehalfOf } });
  if (known === 'not-human') throw new Problem('unknown-requester', `on_behalf_of ${onBehalfOf} is a bot or a deactivated account, not a person`, { extensions: { on_behalf_of: onBehalfOf } });
  return { id: onBehalfOf, groups, is_owner: await ownsAgent(agent.owner, onBehalfOf, directory.usergroupMembers?.bind(directory)) };
}
