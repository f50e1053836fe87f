import type { SlackEmulator } from '../slack-emulator';

/** The page shows the latest messages of each channel; a long-running sandbox would otherwise grow every refresh. */
const MAX_MESSAGES = 200;

/**
 * The emulator's workspace as the page shows it: current versions only (message and view histories are
 * left out to keep each refresh small).
 */
export function snapshot(emulator: SlackEmulator) {
  const state = emulator.toJSON();
  const strip = <T extends { history?: unknown }>(m: T): Omit<T, 'history'> => {
    const { history: _history, ...rest } = m;
    return rest;
  };
  return {
    team: { name: state.team.teamName, domain: state.team.teamDomain, bot_user_id: state.team.botUserId },
    users: state.users.filter((u) => !u.is_bot && !u.deleted).map((u) => ({ id: u.id, name: u.name, real_name: u.real_name ?? u.name })),
    channels: state.channels
      .filter((c) => !c.is_im)
      .map((c) => ({
        id: c.id,
        name: c.name,
        messages: c.messages
          .filter((m) => !m.deleted)
          .slice(-MAX_MESSAGES)
          .map((m) => ({ ...strip(m), replies: m.replies.filter((r) => !r.deleted).map(strip) })),
      })),
    ephemerals: state.ephemerals.filter((e) => !e.deleted).map(strip),
    views: state.views.filter((v) => v.isOpen).map((v) => ({ id: v.id, hash: v.hash, user: v.user, view: v.view, errors: v.errors ?? null })),
  };
}
