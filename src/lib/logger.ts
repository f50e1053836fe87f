import pino from 'pino';

/** Structured JSON logs; child loggers carry correlation ids. Silent under tests unless LOG_LEVEL is set. */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info'),
  base: { service: 'countersign' },
  timestamp: pino.stdTimeFunctions.isoTime,
});

export type Logger = typeof logger;
