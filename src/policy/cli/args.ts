import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export type ParsedArgs<O extends Options> =
  | { ok: true; values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string }; positionals: string[] }
  | { ok: false; message: string };

/** node:util's parseArgs in strict mode, with its exception turned into a value. */
export function parseCommandArgs<O extends Options>(argv: string[], options: O): ParsedArgs<O> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { ok: true, values: values as never, positionals };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}
