import type { PolicyErrorCode } from '../errors.ts';

/** Custom zod issues carry their policy error code here so the loader can report it unchanged. */
export function coded(code: PolicyErrorCode): { code: PolicyErrorCode } {
  return { code };
}
