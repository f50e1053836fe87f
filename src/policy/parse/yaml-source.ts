import { LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import type { PolicyError } from '../errors.ts';
import { SourceMap } from './source-map.ts';
import { issuesToErrors } from './zod-issues.ts';

/** Policy files are small; anything bigger is a mistake or an attack on the parser. */
export const MAX_POLICY_FILE_BYTES = 1024 * 1024;

export type ParsedSource<T> = { ok: true; value: T; map: SourceMap } | { ok: false; errors: PolicyError[] };

/**
 * Parses one YAML file against a zod schema, refusing oversize input and every alias (the
 * building block of "billion laughs" bombs), and reporting errors with line and column.
 */
export function parseYamlSource<S extends z.ZodType>(file: string, text: string, schema: S): ParsedSource<z.output<S>> {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_POLICY_FILE_BYTES) {
    return { ok: false, errors: [tooLarge(file, bytes)] };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, keepSourceTokens: true });
  const map = new SourceMap(doc, lines);
  const errors: PolicyError[] = [];
  for (const problem of [...doc.errors, ...doc.warnings]) {
    errors.push({ file, ...map.at(problem.pos[0]), message: `YAML: ${problem.message}`, code: 'yaml_syntax' });
  }
  errors.push(...findAliases(file, doc, map));
  if (errors.length > 0) return { ok: false, errors };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 0 });
  } catch (error) {
    return { ok: false, errors: [{ file, line: 1, column: 1, message: `YAML: ${(error as Error).message}`, code: 'yaml_syntax' }] };
  }
  if (data === null || data === undefined) {
    return { ok: false, errors: [{ file, line: 1, column: 1, message: 'file is empty', code: 'missing_key' }] };
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) return { ok: false, errors: issuesToErrors(file, parsed.error.issues, map) };
  return { ok: true, value: parsed.data, map };
}

export function tooLarge(file: string, bytes: number): PolicyError {
  return {
    file,
    line: 0,
    column: 0,
    message: `file is ${bytes} bytes, over the 1 MiB (${MAX_POLICY_FILE_BYTES} bytes) limit for policy files`,
    code: 'file_too_large',
  };
}

function findAliases(file: string, doc: Document, map: SourceMap): PolicyError[] {
  const errors: PolicyError[] = [];
  visit(doc, {
    Alias(_key, node) {
      errors.push({
        file,
        ...map.at(node.range?.[0] ?? 0),
        message: `YAML alias *${node.source} is not allowed in policy files: write the value out`,
        code: 'yaml_alias',
      });
    },
  });
  return errors;
}
