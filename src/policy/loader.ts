import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadPolicyBundleFromFiles, type LoadResult, type PolicySourceFile } from './bundle.ts';
import type { PolicyError } from './errors.ts';
import { MAX_POLICY_FILE_BYTES, tooLarge } from './parse/yaml-source.ts';

/**
 * Which directory entries are policy files: `*.yaml`/`*.yml` directly in the directory, not test
 * case files, not dotfiles (editor swap files, Kubernetes' `..data`), never subdirectories.
 */
export function isPolicyFileName(name: string): boolean {
  return !name.startsWith('.') && /\.ya?ml$/.test(name) && !/\.test\.ya?ml$/.test(name);
}

/** Reads every policy file in `dir` and builds one bundle; any error refuses the whole bundle. */
export async function loadPolicyBundle(dir: string): Promise<LoadResult> {
  const read = await readPolicyFiles(dir);
  if (!read.ok) return read;
  if (read.files.length === 0) {
    return { ok: false, errors: [{ file: dir, line: 0, column: 0, message: `no policy files (*.yaml, *.yml) in ${dir}`, code: 'no_policy_files' }] };
  }
  return loadPolicyBundleFromFiles(read.files);
}

export async function readPolicyFiles(
  dir: string,
  include: (name: string) => boolean = isPolicyFileName,
): Promise<{ ok: true; files: PolicySourceFile[] } | { ok: false; errors: PolicyError[] }> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter(include).sort();
  } catch (error) {
    return { ok: false, errors: [{ file: dir, line: 0, column: 0, message: `cannot read directory: ${(error as Error).message}`, code: 'read_failed' }] };
  }
  const files: PolicySourceFile[] = [];
  const errors: PolicyError[] = [];
  for (const name of names) {
    const path = join(dir, name);
    try {
      // stat follows symlinks, as Kubernetes ConfigMap mounts need; directories named *.yaml are skipped.
      const info = await stat(path);
      if (!info.isFile()) continue;
      if (info.size > MAX_POLICY_FILE_BYTES) {
        errors.push(tooLarge(path, info.size));
        continue;
      }
      const bytes = await readFile(path);
      const text = decodeUtf8(bytes);
      if (text === null) {
        errors.push({ file: path, line: 0, column: 0, message: 'file is not valid UTF-8', code: 'invalid_encoding' });
        continue;
      }
      files.push({ path, text });
    } catch (error) {
      errors.push({ file: path, line: 0, column: 0, message: `cannot read file: ${(error as Error).message}`, code: 'read_failed' });
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, files };
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}
