import pino from 'pino';
import { prettyStream } from './log-pretty';

/**
 * Structured logs; child loggers carry correlation ids. Silent under tests unless LOG_LEVEL is set.
 * LOG_FORMAT=json|pretty; by default pretty (one readable line each) when stderr is a terminal, JSON otherwise.
 * Logs go to stderr, so what a command prints on stdout stays clean to pipe.
 */
const format = process.env.LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');

export const logger = pino(
  {
    level: process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
    base: { service: 'countersign' },
    timestamp: pino.stdTimeFunctions.isoTime,
  },
  format === 'pretty' ? prettyStream(process.stderr, { color: Boolean(process.stderr.isTTY) }) : pino.destination(2),
);

export type Logger = typeof logger;
