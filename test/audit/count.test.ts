import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countEvents, queryEvents } from '../../src/audit/query';
import { createTestDb, type TestDb } from '../support/db';

let db: TestDb;
const N = 3000;
const base = Date.parse('2026-01-01T00:00:00Z');

beforeAll(async () => {
  db = await createTestDb({ max: 2 });
  // One event every 5 s over ~4 hours, with created_at running up to 2 s against seq order (lanes interleave).
  await db.sql`
    insert into audit_events (id, type, actor, agent_id, data, created_at, prev_hash, hash)
    select 'evt_c' || g, (array['a','b','c'])[1 + g % 3], 'system', 'agt_' || (g % 4), '{}'::jsonb,
           ${new Date(base).toISOString()}::timestamptz + (g * interval '5 seconds') + ((g % 2) * interval '2 seconds'),
           'p', 'h'
    from generate_series(1, ${N}) g`;
});
afterAll(async () => db.drop());

async function naive(where: string): Promise<number> {
  const [row] = await db.sql.unsafe(`select count(*)::int as n from audit_events where ${where}`);
  return (row as unknown as { n: number }).n;
}

describe('countEvents with a time range', () => {
  const at = (minutes: number) => new Date(base + minutes * 60_000);
  const cases: Array<[string, number, number | null]> = [
    ['wide window', 30, 150],
    ['open end', 47, null],
    ['narrow window', 61, 62],
    ['window of a few margins', 90, 95],
    ['window narrower than the edges', 61, 61.25],
  ];
  for (const [label, from, to] of cases) {
    it(`is exact for a ${label}, with and without other filters`, async () => {
      const since = at(from);
      const until = to === null ? undefined : at(to);
      const time = `created_at >= '${since.toISOString()}'${until ? ` and created_at < '${until.toISOString()}'` : ''}`;
      expect(await countEvents(db.db, { since, until })).toBe(await naive(time));
      expect(await countEvents(db.db, { since, until, agent_id: 'agt_1' })).toBe(await naive(`${time} and agent_id = 'agt_1'`));
      expect(await countEvents(db.db, { since, until, type: 'b' })).toBe(await naive(`${time} and type = 'b'`));
    });
  }

  it('agrees with paging through the same filter', async () => {
    const f = { since: at(20), until: at(200), agent_id: 'agt_2' };
    let n = 0;
    let after: number | null = null;
    for (;;) {
      const page = await queryEvents(db.db, f, { after, limit: 200 });
      n += page.events.length;
      if (!page.next_cursor) break;
      after = page.events.at(-1)!.seq;
    }
    expect(await countEvents(db.db, f)).toBe(n);
  });
});
