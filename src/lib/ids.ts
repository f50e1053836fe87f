import { randomFillSync } from 'node:crypto';

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
  task: 'tsk',
  drill: 'drl',
  grant: 'grt',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * Time-ordered, prefixed id: 8 base36 chars of milliseconds then 16 random ones,
 * so ids sort roughly by creation time (index locality) and cannot be guessed.
 */
export function newId(kind: IdKind): string {
  const time = Date.now().toString(36).padStart(9, '0');
  let rand = '';
  for (let i = 0; i < RANDOM_CHARS; i++) rand += ALPHABET[nextRandomByte() % 36];
  return `${ID_PREFIXES[kind]}_${time}${rand}`;
}

const RANDOM_CHARS = 16;
// Random bytes are drawn from the OS in blocks (as the uuid package does): one call per 256 ids instead of
// one per id, which showed in the intake's profile (each request makes about six ids).
const pool = Buffer.alloc(RANDOM_CHARS * 256);
let poolAt = pool.length;

function nextRandomByte(): number {
  if (poolAt === pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return pool[poolAt++]!;
}
