import { randomBytes } from 'node:crypto';

/** One prefix map, so an id in a log says what it is. */
export const ID_PREFIXES = {
  action: 'act',
  agent: 'agt',
  token: 'tok',
  approval: 'apr',
  event: 'evt',
  admin: 'adm',
  outbox: 'obx',
  exception: 'exc',
  budget: 'bdg',
  request: 'req',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * Time-ordered, prefixed id: 8 base36 chars of milliseconds then 16 random ones,
 * so ids sort roughly by creation time (index locality) and cannot be guessed.
 */
export function newId(kind: IdKind): string {
  const time = Date.now().toString(36).padStart(9, '0');
  const bytes = randomBytes(16);
  let rand = '';
  for (const b of bytes) rand += ALPHABET[b % 36];
  return `${ID_PREFIXES[kind]}_${time}${rand}`;
}
