import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../lib/canonical-json';

/**
 * Token formats carry a visible prefix so secret scanners and log readers recognise them:
 * agent tokens `csa_…`, admin tokens `csadm_…`. Only the SHA-256 is stored (tokens are 256-bit random,
 * so a slow hash adds nothing).
 */
export const AGENT_TOKEN_PREFIX = 'csa_';
export const ADMIN_TOKEN_PREFIX = 'csadm_';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length)) {
      // Reject bytes that would bias the distribution.
      if (b < 248 && out.length < length) out += BASE62[b % 62];
    }
  }
  return out;
}

export function generateToken(prefix: string): string {
  return prefix + randomBase62(43);
}

export function hashToken(token: string): string {
  return sha256Hex(token);
}

/** What may be shown in logs and listings: the prefix and the first characters. */
export function displayPrefix(token: string): string {
  return token.slice(0, token.indexOf('_') + 7) + '…';
}

export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+([A-Za-z0-9_\-.]+)$/.exec(header.trim());
  return m ? m[1]! : null;
}
