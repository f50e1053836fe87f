import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { connectDb, type DbHandle } from '../../src/db/client';
import { dependencyUnavailableIn, isDependencyUnavailable } from '../../src/lib/dependency-error';
import { problemHandler } from '../../src/http/problem-response';
import { createTestDb, type TestDb } from '../support/db';

/**
 * The wait budget on a server that stops answering without refusing (a blackhole): new connections are
 * accepted by a proxy that forwards nothing. The shared PostgreSQL is never touched.
 */
let direct: TestDb;
let app: DbHandle;
let proxy: Server;
let blackhole = false;
const sockets = new Set<Socket>();
const BUDGET_MS = 300;

beforeAll(async () => {
  direct = await createTestDb();
  await direct.sql`create table wait_budget_probe (id text primary key)`;
  proxy = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (blackhole) return; // accepted, never answered
    const upstream = connect(5432, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
    upstream.on('close', () => (sockets.delete(upstream), client.destroy()));
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const port = (proxy.address() as { port: number }).port;
  app = connectDb(`postgres://postgres@127.0.0.1:${port}/${direct.name}`, { max: 2, waitBudgetMs: BUDGET_MS });
});
afterAll(async () => {
  await app?.sql.end({ timeout: 0 }).catch(() => undefined);
  for (const s of sockets) s.destroy();
  await Promise.race([new Promise((r) => proxy.close(r)), new Promise((r) => setTimeout(r, 2000))]);
  await direct?.drop();
});

/** The server goes silent: open connections drop (the driver sees them close), new ones are never answered. */
async function cut() {
  blackhole = true;
  for (const s of sockets) s.destroy();
  await new Promise((r) => setTimeout(r, 200));
}

describe('the database wait budget', () => {
  it('answers normally while the database answers', async () => {
    expect(await app.db.execute(sql`select 1 as one`)).toEqual([{ one: 1 }]);
  });

  it('a write that cannot get a connection fails as DependencyUnavailable and never runs later', async () => {
    await cut();
    const insert = app.db.execute(sql`insert into wait_budget_probe values ('after-the-cut')`).then(
      () => 'ran',
      (e: unknown) => e,
    );
    const tx = app.db
      .transaction(async (t) => {
        await t.execute(sql`insert into wait_budget_probe values ('in-a-transaction')`);
      })
      .then(() => 'ran', (e: unknown) => e);
    const [a, b] = await Promise.all([insert, tx]);
    expect(isDependencyUnavailable(a)).toBe(true);
    expect(isDependencyUnavailable(b)).toBe(true);
    expect(dependencyUnavailableIn(a)!.message).toContain(`${BUDGET_MS} ms`);

    // The one error handler answers it 503 with Retry-After, naming the database (drizzle wraps the error).
    const sent: { status?: number; headers: Record<string, string>; body?: string } = { headers: {} };
    const res = {
      setHeader: (k: string, v: string) => void (sent.headers[k.toLowerCase()] = v),
      status(s: number) {
        sent.status = s;
        return res;
      },
      type: () => res,
      send: (b: string) => void (sent.body = b),
    };
    problemHandler(a, { originalUrl: '/v1/actions', path: '/v1/actions' } as never, res as never, () => undefined);
    expect(sent.status).toBe(503);
    expect(sent.headers['retry-after']).toBe('1');
    expect(JSON.parse(sent.body!)).toMatchObject({ code: 'service-unavailable', dependency: 'postgres', retryable: true });

    // The database answers again: the abandoned statements are not sent late.
    blackhole = false;
    for (const s of sockets) s.destroy();
    for (let i = 0; i < 40; i++) {
      try {
        await app.db.execute(sql`select 1`);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    expect(await direct.sql`select id from wait_budget_probe`).toEqual([]);
    // And the next request is served.
    await app.db.execute(sql`insert into wait_budget_probe values ('after-the-return')`);
    expect((await direct.sql`select id from wait_budget_probe`).map((r) => r.id)).toEqual(['after-the-return']);
  }, 30_000);
});
