/**
 * Slack ids as people and agents write them: `U0BOB`, `u0bob`, `@U0BOB`, `<@U0BOB>`, `<@U0BOB|bob>`. Ids are
 * compared in one normal form (upper case, no mention syntax), so no spelling of an id slips past a check
 * that compares it with the id of the person who clicked.
 */
const USER_ID = /^[UW][A-Z0-9]{2,}$/;
const USERGROUP_ID = /^S[A-Z0-9]{2,}$/;

export function normaliseSlackUserId(raw: string): string | null {
  const text = raw.trim();
  const mention = /^<@([A-Za-z0-9]+)(?:\|[^>]*)?>$/.exec(text);
  const bare = (mention ? mention[1]! : text.replace(/^@/, '')).toUpperCase();
  return USER_ID.test(bare) ? bare : null;
}

/**
 * Who an agent's `owner` names in Slack, if anyone: a user (`U…`, `<@U…>`), or a user group in Slack's
 * mention syntax (`<!subteam^S…>`) or as a bare id with a digit in it (`S0ONCALL`, not the label `sandbox`).
 * Anything else is a label, which names nobody.
 */
export function slackOwner(owner: string): { kind: 'user' | 'usergroup'; id: string } | null {
  const text = owner.trim();
  const subteam = /^<!subteam\^([A-Za-z0-9]+)(?:\|[^>]*)?>$/.exec(text);
  if (subteam) {
    const id = subteam[1]!.toUpperCase();
    return USERGROUP_ID.test(id) ? { kind: 'usergroup', id } : null;
  }
  const user = normaliseSlackUserId(text);
  if (user) return { kind: 'user', id: user };
  const bare = text.replace(/^@/, '').toUpperCase();
  return USERGROUP_ID.test(bare) && /\d/.test(bare) ? { kind: 'usergroup', id: bare } : null;
}

/** The same user, whatever the case or mention syntax of either spelling. */
export function isSameSlackUser(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return false;
  const x = normaliseSlackUserId(a);
  return x !== null && x === normaliseSlackUserId(b);
}
