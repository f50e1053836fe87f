import { Writable } from 'node:stream';
import pino from 'pino';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configureRedaction } from '../../src/audit/redact';
import { createLogger, logger } from '../../src/lib/logger';
import { prettyStream } from '../../src/lib/log-pretty';
import { actionRequest, startHarness, type Harness } from '../support/harness';

const SECRET = 'hunter2-do-not-log-0xC0FFEE';
const API_KEY = 'sk-live-do-not-log-123456';

function capture() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, sink, text: () => lines.join('\n') };
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});
afterEach(() => configureRedaction(undefined));

describe('the logger', () => {
  it('logs a real database error (drizzle + postgres.js) without its query parameters or the input PostgreSQL quotes', async () => {
    const { sink, text, lines } = capture();
    const log = createLogger('debug', sink);
    const doc = JSON.stringify({ password: SECRET, api_key: API_KEY }) + ' not json';
    const err = await h.app.db.execute(sql`select ${doc}::jsonb`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeTruthy();
    // The error really does carry the secret, in its message (drizzle) and its cause (PostgreSQL's `where`).
    expect(JSON.stringify({ m: (err as Error).message, c: String(((err as Error).cause as { where?: string })?.where) })).toContain(SECRET);
    log.error({ err, path: '/v1/actions' }, 'unhandled error');
    log.error(err as Error);
    log.warn(`failed: ${(err as Error).message}`);
    expect(lines).toHaveLength(3);
    expect(text()).not.toContain(SECRET);
    expect(text()).not.toContain(API_KEY);
    const first = JSON.parse(lines[0]!);
    // What helps find the bug stays: the kind of error, its code, and where in the code it happened.
    expect(first.err.type).toBe('DrizzleQueryError');
    expect(first.err.message).toContain('Failed query');
    expect(first.err.cause).toMatchObject({ code: '22P02', routine: expect.any(String) });
    expect(first.err.stack).toContain(' at ');
  });

  it('redacts the keys the audit trail redacts, including redaction.extra_keys, at any depth', () => {
    configureRedaction({ extra_keys: ['ssn_like'] });
    const { sink, text, lines } = capture();
    const log = createLogger('debug', sink);
    log.info(
      { params: { password: SECRET, nested: [{ api_key: API_KEY }], ssn_like: 'extra-secret-1', url: `postgres://svc:${SECRET}@db.internal/x`, header: `Bearer ${API_KEY}` }, action_id: 'act_1' },
      'request',
    );
    expect(text()).not.toContain(SECRET);
    expect(text()).not.toContain(API_KEY);
    expect(text()).not.toContain('extra-secret-1');
    const line = JSON.parse(lines[0]!);
    expect(line.params.password).toBe('[REDACTED]');
    expect(line.params.url).toBe('postgres://svc:[REDACTED]@db.internal/x');
    expect(line.action_id).toBe('act_1');
  });

  it('the pretty lines a terminal gets are redacted as the JSON is (they are made from it)', async () => {
    configureRedaction({ extra_keys: ['ssn_like'] });
    const { sink, text } = capture();
    const log = createLogger('debug', prettyStream(sink, { color: false }));
    const err = await h.app.db.execute(sql`select ${JSON.stringify({ password: SECRET }) + ' not json'}::jsonb`).then(
      () => null,
      (e: unknown) => e,
    );
    log.error({ err, params: { password: SECRET, nested: [{ api_key: API_KEY }], ssn_like: 'extra-secret-1', header: `Bearer ${API_KEY}` } }, `failed with Bearer ${API_KEY}`);
    expect(text()).toMatch(/^\d\d:\d\d:\d\d ERROR failed with /);
    expect(text()).toContain('[REDACTED]');
    // The error's stack is printed under the line, reduced as in JSON (no query parameters, no quoted input).
    expect(text()).toContain('DrizzleQueryError: Failed query');
    expect(text()).not.toContain(SECRET);
    expect(text()).not.toContain(API_KEY);
    expect(text()).not.toContain('extra-secret-1');
  });

  it('a request whose write fails in the database: the error is logged, the secret in its params is not', async () => {
    const { sink, text } = capture();
    const stream = pino.symbols.streamSym as unknown as keyof typeof logger;
    const saved = { stream: logger[stream], level: logger.level };
    (logger as unknown as Record<symbol, unknown>)[stream as unknown as symbol] = sink;
    logger.level = 'debug';
    // Every insert into actions fails: a real PostgreSQL error on the statement that carries the params.
    await h.db.sql.unsafe(`create function refuse_actions() returns trigger language plpgsql as $$ begin raise exception 'refused by test trigger'; end $$;
      create trigger refuse_actions before insert on actions for each row execute function refuse_actions();`);
    try {
      for (const actionClass of ['external_automation.workflow.create', 'external_automation.read.jobs']) {
        const res = await h.post(actionRequest({ action_class: actionClass, params: { name: 'x', password: SECRET, api_key: API_KEY } }));
        expect(res.status).toBe(500);
      }
    } finally {
      await h.db.sql.unsafe('drop trigger refuse_actions on actions; drop function refuse_actions();');
      (logger as unknown as Record<symbol, unknown>)[stream as unknown as symbol] = saved.stream;
      logger.level = saved.level;
    }
    expect(text()).toContain('refused by test trigger');
    expect(text()).not.toContain(SECRET);
    expect(text()).not.toContain(API_KEY);
  });
});
