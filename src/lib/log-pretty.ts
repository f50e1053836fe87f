import { Writable } from 'node:stream';

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO', '\x1b[32m'],
  40: ['WARN', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};
/** Fields every line has; not repeated after the message. */
const OMIT = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[\w./:@+-]*$/.test(v) && v !== '' ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** One pino JSON line as a person reads it: `12:03:04 WARN message key=value …`, an error's stack below it. */
export function formatLogLine(line: string, opts: { color: boolean }): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const [name, color] = LEVELS[entry.level as number] ?? [String(entry.level), ''];
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 19) : new Date(Number(entry.time)).toISOString().slice(11, 19);
  let stack = '';
  const fields: string[] = [];
  for (const [k, v] of Object.entries(entry)) {
    if (OMIT.has(k)) continue;
    if ((k === 'err' || k === 'error') && v && typeof v === 'object' && 'stack' in v) {
      stack = `\n    ${String((v as { stack: unknown }).stack).split('\n').join('\n    ')}`;
      continue;
    }
    fields.push(`${k}=${value(v)}`);
  }
  const level = opts.color ? `${color}${name.padEnd(5)}\x1b[0m` : name.padEnd(5);
  return `${time} ${level} ${String(entry.msg ?? '')}${fields.length ? ` ${opts.color ? '\x1b[90m' : ''}${fields.join(' ')}${opts.color ? '\x1b[0m' : ''}` : ''}${stack}\n`;
}

/** A destination for pino that writes readable lines instead of JSON (LOG_FORMAT=pretty, or a terminal). */
export function prettyStream(out: NodeJS.WritableStream, opts: { color: boolean }): Writable {
  return new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) out.write(formatLogLine(line, opts));
      cb();
    },
  });
}
