import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class EmbeddedError extends Error {}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of the live process holding the data directory's lock, or null when none does. */
export function dataDirHolder(dir: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(dir, 'countersign.pid'), 'utf8').trim();
  } catch {
    return null;
  }
  const pid = Number(text);
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) ? pid : null;
}

/**
 * Claims the data directory for this process: PGlite and the private Redis must never be opened by two
 * processes at once. A lock left by a process that died is taken over.
 */
export function claimDataDir(dir: string): { release(): void } {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, 'countersign.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return {
        release() {
          try {
            if (readFileSync(lock, 'utf8').trim() === String(process.pid)) rmSync(lock);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
        throw new EmbeddedError(`${dir} is in use by another Countersign (pid ${holder}); stop it first or set COUNTERSIGN_DATA_DIR`);
      }
      rmSync(lock, { force: true });
    }
  }
  throw new EmbeddedError(`could not lock ${dir}`);
}
