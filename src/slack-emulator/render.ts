import type { EmulatorUser, JsonObject, StoredMessage } from './types.ts';
import type { ChannelRecord, Identity } from './workspace.ts';

/** A stored message as Slack returns it (chat.postMessage `message`, block_actions `message`). */
export function renderMessage(m: StoredMessage, identity: Identity): JsonObject {
  const out: Record<string, unknown> = {
    user: m.user,
    type: 'message',
    ts: m.ts,
    bot_id: m.bot_id,
    app_id: m.app_id,
    text: m.text,
    team: m.team,
    bot_profile: {
      id: m.bot_id,
      deleted: false,
      name: identity.botName,
      updated: Math.floor(Number(m.ts)),
      app_id: m.app_id,
      team_id: m.team,
    },
  };
  if (m.blocks !== undefined) out.blocks = m.blocks;
  if (m.attachments !== undefined) out.attachments = m.attachments;
  if (m.thread_ts !== undefined) {
    out.thread_ts = m.thread_ts;
    if (m.thread_ts !== m.ts) out.parent_user_id = identity.botUserId;
  }
  if (m.edited !== undefined) out.edited = m.edited;
  if (m.metadata !== undefined) out.metadata = m.metadata;
  return structuredClone(out) as JsonObject;
}

export function renderUser(u: EmulatorUser, teamId: string): JsonObject {
  const realName = u.real_name ?? u.name;
  return {
    id: u.id,
    team_id: teamId,
    name: u.name,
    deleted: u.deleted ?? false,
    color: '9f69e7',
    real_name: realName,
    tz: u.tz ?? 'Europe/London',
    tz_label: 'Greenwich Mean Time',
    tz_offset: 0,
    profile: {
      real_name: realName,
      real_name_normalized: realName,
      display_name: u.name,
      display_name_normalized: u.name,
      team: teamId,
    },
    is_admin: u.is_admin ?? false,
    is_owner: false,
    is_primary_owner: false,
    is_restricted: false,
    is_ultra_restricted: false,
    is_bot: u.is_bot ?? false,
    is_app_user: false,
    updated: 1_700_000_000,
  };
}

export function renderChannel(c: ChannelRecord, identity: Identity): JsonObject {
  if (c.is_im) {
    return {
      id: c.id,
      created: c.created,
      is_archived: false,
      is_im: true,
      is_org_shared: false,
      context_team_id: identity.teamId,
      user: c.user ?? '',
      is_user_deleted: false,
      priority: 0,
    };
  }
  const isPrivate = c.is_private ?? false;
  return {
    id: c.id,
    name: c.name,
    is_channel: !isPrivate,
    is_group: isPrivate,
    is_im: false,
    is_mpim: false,
    is_private: isPrivate,
    created: c.created,
    is_archived: false,
    is_general: false,
    unlinked: 0,
    name_normalized: c.name,
    is_shared: false,
    is_org_shared: false,
    is_pending_ext_shared: false,
    pending_shared: [],
    context_team_id: identity.teamId,
    creator: identity.botUserId,
    is_ext_shared: false,
    shared_team_ids: [identity.teamId],
    is_member: c.is_member ?? true,
    topic: { value: '', creator: '', last_set: 0 },
    purpose: { value: '', creator: '', last_set: 0 },
    previous_names: [],
  };
}
