import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger';
import { startDependencyProbe } from '../../src/observability/probe';

// The dependency probe's log: one line per change — down, back, or down for another reason — never one per
// round. The reason matters: the first round may only time out before the client knows why (a wrong Redis
// password), and that later reason is what an operator needs to read.

function capture() {
  const lines: Array<{ msg: string; dependency: string; err?: { message: string } }> = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, log: createLogger('info', sink) };
}

describe('dependency probe log', () => {
  it('logs down, a new reason, and back; not the same reason again, nor a reason that differs only in a count', async () => {
    const answers: Array<Error | null> = [
      new Error('timed out after 1000 ms'),
      new Error('not connected: Retrying after 800ms. Last error: WRONGPASS invalid password'),
      new Error('not connected: Retrying after 900ms. Last error: WRONGPASS invalid password'),
      new Error('not connected: Retrying after 900ms. Last error: WRONGPASS invalid password'),
      null,
      null,
    ];
    let round = 0;
    const { lines, log } = capture();
    const probe = startDependencyProbe(
      {
        redis: async () => {
          const a = answers[Math.min(round++, answers.length - 1)];
          if (a) throw a;
        },
      },
      { everyMs: 5, timeoutMs: 100, log },
    );
    await probe.firstRound;
    while (round < answers.length + 1) await new Promise((r) => setTimeout(r, 5));
    probe.stop();
    await new Promise((r) => setTimeout(r, 20)); // a lagging line would land here
    expect(lines.map((l) => [l.msg.split(':')[0], l.err?.message ?? null])).toEqual([
      ['dependency is down', 'timed out after 1000 ms'],
      ['dependency is down', 'not connected: Retrying after 800ms. Last error: WRONGPASS invalid password'],
      ['dependency is back', null],
    ]);
    expect(lines.every((l) => l.dependency === 'redis')).toBe(true);
  });
});
