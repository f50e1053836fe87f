import pino, { type DestinationStream } from 'pino';
import { REDACTED, currentSecretKeyPattern, redact } from '../audit/redact';
import { prettyStream } from './log-pretty';

// What of an error reaches the log: its kind and where it failed, never the data it failed on. postgres.js
// errors carry `parameters`, `query` and `args`, and PostgreSQL's `where`/`detail` quote the input (a JSON
// document, a key's value); drizzle's message appends every query parameter; body-parser's errors carry
// the raw body. None of those are copied.
const ERROR_FIELDS = [
  'code',
  'severity',
  'routine',
  'constraint_name',
  'table_name',
  'column_name',
  'schema_name',
  'errno',
  'syscall',
  'address',
  'port',
  'status',
  'statusCode',
  'type',
] as const;
const MAX_DEPTH = 8;

function isErrorLike(v: unknown): v is Error & Record<string, unknown> {
  return v instanceof Error || (typeof v === 'object' && v !== null && typeof (v as Error).message === 'string' && typeof (v as Error).stack === 'string');
}

/** Free text as it may be logged: drizzle's "params: …" tail dropped, and the audit trail's string rules applied. */
export function scrubLogText(text: string): string {
  return redact(text.replace(/\nparams: [\s\S]*$/, '\nparams: [not logged]')) as string;
}

/** An error as it may be logged (see ERROR_FIELDS), with its causes. */
export function loggableError(e: Error & Record<string, unknown>, depth = 0): Record<string, unknown> {
  // Some libraries (drizzle's DrizzleQueryError) leave `name` as "Error": the class says more.
  const ctor = (e.constructor as { name?: unknown } | undefined)?.name;
  const name = e.name && e.name !== 'Error' ? String(e.name) : typeof ctor === 'string' && ctor !== 'Object' ? ctor : 'Error';
  const message = scrubLogText(String(e.message ?? ''));
  const frames = typeof e.stack === 'string' ? e.stack.split('\n').filter((l) => /^\s+at /.test(l)) : [];
  const out: Record<string, unknown> = { type: name, message, stack: [`${name}: ${message}`, ...frames].join('\n') };
  for (const k of ERROR_FIELDS) {
    const v = e[k];
    if (typeof v === 'string' || typeof v === 'number') out[k === 'type' ? 'error_type' : k] = typeof v === 'string' ? scrubLogText(v) : v;
  }
  if (e.cause !== undefined) out.cause = depth < 3 && isErrorLike(e.cause) ? loggableError(e.cause, depth + 1) : '[cause not logged]';
  return out;
}

/**
 * A log object as it may be written: errors reduced to loggableError, values under keys the audit trail
 * treats as secret (src/audit/redact.ts, including `redaction.extra_keys`) replaced, strings redacted as the
 * audit trail redacts them.
 */
export function scrubLogObject(value: unknown, depth = 0): unknown {
  if (isErrorLike(value)) return loggableError(value);
  if (typeof value === 'string') return scrubLogText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_DEPTH) return '[depth]';
  if (Array.isArray(value)) return value.map((v) => scrubLogObject(v, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value; // Dates, Buffers and the like serialise themselves
  const pattern = currentSecretKeyPattern();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = pattern.test(k) ? REDACTED : scrubLogObject(v, depth + 1);
  return out;
}

/** The logger's options, with or without a destination (tests read what would be written). */
export function createLogger(level: string, destination?: DestinationStream) {
  return pino(
    {
      level,
      base: { service: 'countersign' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (obj) => scrubLogObject(obj) as Record<string, unknown> },
      // Errors arrive already reduced by the formatter; the default serializer would rename their type.
      serializers: { err: (v: unknown) => v },
      hooks: {
        logMethod(args, method) {
          // logger.error(err) would take err.message as the line's message, past the formatter.
          const [first, ...rest] = args as unknown[];
          const scrubbed = isErrorLike(first) && rest.length === 0 ? [{ err: first }, scrubLogText(first.message)] : [first, ...rest.map((a) => (typeof a === 'string' ? scrubLogText(a) : a))];
          if (typeof scrubbed[0] === 'string') scrubbed[0] = scrubLogText(scrubbed[0]);
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    // Without one given, stdout written asynchronously (issue #20): a line no longer blocks the event loop on its
    // write, lines logged while a write is in flight go out together, and pino flushes what is left at exit.
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * Where the process's logs go: stderr, so what a command prints on stdout stays clean to pipe.
 * LOG_FORMAT=json|pretty; by default pretty (one readable line each) when stderr is a terminal, JSON otherwise.
 * The pretty lines are made from the JSON pino writes, after the formatter above: what is redacted in JSON is
 * redacted in them too.
 */
export function logDestination(format = process.env.LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json')): DestinationStream {
  return format === 'pretty' ? prettyStream(process.stderr, { color: Boolean(process.stderr.isTTY) }) : pino.destination(2);
}

/** Structured logs; child loggers carry correlation ids. Silent under tests unless LOG_LEVEL is set. */
export const logger = createLogger(process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'), logDestination());

export type Logger = typeof logger;
