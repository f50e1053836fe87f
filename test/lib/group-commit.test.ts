// The group-commit scheduler on its own: what it batches, how far it runs ahead, and how it isolates a failure.
// (The database writer built on it is tested against PostgreSQL in test/intake/batch-writer.test.ts.)
import { describe, expect, it } from 'vitest';
import { groupCommit } from '../../src/lib/group-commit';

type Call = { items: number[]; release(): void };

/** A write whose calls stay open until the test releases them, so batching is deterministic. */
function heldWriter(fail: (items: number[]) => boolean = () => false) {
  const calls: Call[] = [];
  const write = (items: number[]) =>
    new Promise<number[]>((resolve, reject) => {
      calls.push({ items, release: () => (fail(items) ? reject(new Error(`bad batch ${items}`)) : resolve(items.map((i) => i * 10))) });
    });
  return { calls, write };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('groupCommit', () => {
  it('writes a lone item at once, and batches what arrives while a write is in flight', async () => {
    const w = heldWriter();
    const gc = groupCommit(w.write, { maxBatch: 10, maxInFlight: 1 });
    const first = gc.submit(1);
    await tick();
    expect(w.calls.map((c) => c.items)).toEqual([[1]]);
    const rest = [2, 3, 4].map((i) => gc.submit(i));
    await tick();
    expect(w.calls).toHaveLength(1); // waiting for the write in flight
    w.calls[0]!.release();
    expect(await first).toBe(10);
    await tick();
    expect(w.calls.map((c) => c.items)).toEqual([[1], [2, 3, 4]]);
    w.calls[1]!.release();
    expect(await Promise.all(rest)).toEqual([20, 30, 40]);
    await gc.idle();
  });

  it('keeps at most maxInFlight writes open and at most maxBatch items in one', async () => {
    const w = heldWriter();
    const gc = groupCommit(w.write, { maxBatch: 3, maxInFlight: 2 });
    const all = Array.from({ length: 8 }, (_, i) => gc.submit(i));
    await tick();
    // The first two find the writer idle and go alone; the other six wait for a free slot.
    expect(w.calls.map((c) => c.items)).toEqual([[0], [1]]);
    w.calls[0]!.release();
    await tick();
    await tick();
    expect(w.calls.map((c) => c.items)).toEqual([[0], [1], [2, 3, 4]]);
    w.calls[1]!.release();
    await tick();
    await tick();
    expect(w.calls.map((c) => c.items)).toEqual([[0], [1], [2, 3, 4], [5, 6, 7]]);
    w.calls[2]!.release();
    w.calls[3]!.release();
    expect(await Promise.all(all)).toEqual([0, 10, 20, 30, 40, 50, 60, 70]);
  });

  it('when a batch fails, writes each item alone: only the bad one is rejected', async () => {
    const written: number[][] = [];
    const gc = groupCommit(
      async (items: number[]) => {
        written.push(items);
        if (items.includes(13)) throw new Error('13 is bad');
        return items;
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const first = gc.submit(1); // written alone; the rest queue behind it and form one batch
    const batch = [12, 13, 14].map((i) => gc.submit(i).then((v) => ({ ok: v }), (e: Error) => ({ err: e.message })));
    await first;
    expect(await Promise.all(batch)).toEqual([{ ok: 12 }, { err: '13 is bad' }, { ok: 14 }]);
    expect(written).toEqual([[1], [12, 13, 14], [12], [13], [14]]);
  });

  it("with onBatchError 'fail', a failed batch rejects every item and sends none again", async () => {
    const written: number[][] = [];
    const gc = groupCommit(
      async (items: number[]) => {
        written.push(items);
        if (items.includes(13)) throw new Error('the call failed');
        return items;
      },
      { maxBatch: 10, maxInFlight: 1, onBatchError: 'fail' },
    );
    const first = gc.submit(1);
    const batch = [12, 13, 14].map((i) => gc.submit(i).then((v) => ({ ok: v }), (e: Error) => ({ err: e.message })));
    await first;
    expect(await Promise.all(batch)).toEqual([{ err: 'the call failed' }, { err: 'the call failed' }, { err: 'the call failed' }]);
    expect(written).toEqual([[1], [12, 13, 14]]);
  });

  it('rejects every item of a write that answers the wrong number of results', async () => {
    const gc = groupCommit(async (items: number[]) => items.slice(1), { maxBatch: 10, maxInFlight: 1 });
    await expect(gc.submit(1)).rejects.toThrow(/0 results for 1 items/);
  });
});
