import { renderChannel, renderUser } from '../render.ts';
import type { JsonObject } from '../types.ts';
import { type MethodContext, fail, str } from './context.ts';

export function authTest({ ws }: MethodContext): JsonObject {
  const i = ws.identity;
  return {
    ok: true,
    url: `https://${i.teamDomain}.slack.com/`,
    team: i.teamName,
    user: i.botName,
    team_id: i.teamId,
    user_id: i.botUserId,
    bot_id: i.botId,
    is_enterprise_install: false,
  };
}

export function usersInfo({ args, ws }: MethodContext): JsonObject {
  const id = str(args.user);
  const i = ws.identity;
  if (id === i.botUserId) {
    return {
      ok: true,
      user: { ...renderUser({ id, name: i.botName, is_bot: true }, i.teamId), profile: { bot_id: i.botId, real_name: i.botName, display_name: '', team: i.teamId } },
    };
  }
  const user = id ? ws.users.get(id) : undefined;
  if (!user) return fail('user_not_found');
  return { ok: true, user: renderUser(user, i.teamId) };
}

export function usergroupsUsersList({ args, ws }: MethodContext): JsonObject {
  const id = str(args.usergroup);
  const group = id ? ws.usergroups.get(id) : undefined;
  if (!group) return fail('no_such_subteam');
  return { ok: true, users: [...group.users] };
}

export function conversationsInfo({ args, ws }: MethodContext): JsonObject {
  const ref = str(args.channel);
  const channel = ref ? ws.resolveChannel(ref) : undefined;
  if (!channel) return fail('channel_not_found');
  return { ok: true, channel: renderChannel(channel, ws.identity) };
}

export function appsConnectionsOpen({ openSocketUrl }: MethodContext): JsonObject {
  return { ok: true, url: openSocketUrl() };
}
