/**
 * Action-class globs, one rule for policies and agent scopes alike:
 * `*` as the last segment matches one or more segments, anywhere else exactly one.
 */
export const ACTION_CLASS_RE = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/;
const GLOB_SEGMENT_RE = /^([a-z0-9_]+|\*)$/;

export function isValidActionClassGlob(glob: string): boolean {
  const parts = glob.split('.');
  return parts.length >= 2 && parts.every((p) => GLOB_SEGMENT_RE.test(p));
}

export function matchesActionClassGlob(glob: string, actionClass: string): boolean {
  const g = glob.split('.');
  const c = actionClass.split('.');
  for (let i = 0; i < g.length; i++) {
    const seg = g[i]!;
    const last = i === g.length - 1;
    if (seg === '*' && last) return c.length > i;
    if (i >= c.length) return false;
    if (seg !== '*' && seg !== c[i]) return false;
  }
  return c.length === g.length;
}
