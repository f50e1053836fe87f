import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/config/env';
import { runDemo } from '../../src/cli/demo';
import { SANDBOX_CHANNEL } from '../../src/sandbox/config';
import { startSandboxInstance, type SandboxInstance } from './support';

let h: SandboxInstance;
beforeAll(async () => {
  h = await startSandboxInstance();
});
afterAll(async () => {
  await h?.close();
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s), readStdin: async () => '' } };
}

describe('npm run demo', () => {
  it('plays an agent against a running sandbox: allowed, denied and escalated, then the human approval', async () => {
    const { out, err, io } = capture();
    const emulator = h.app.sandbox!.emulator;
    const before = emulator.messages(SANDBOX_CHANNEL.id).length;
    // A person approves the escalated action on the sandbox page (here: through the emulator).
    const approve = (async () => {
      const card = await emulator.waitFor(() => emulator.messages(SANDBOX_CHANNEL.id)[before], { timeoutMs: 20_000, description: 'the demo card' });
      await emulator.clickButton({ user: 'U0ALEX', channel: SANDBOX_CHANNEL.id, ts: card.ts, actionId: 'countersign_approve' });
    })();
    const code = await runDemo(['--url', h.app.url, '--wait', '30'], io, parseEnv({ PORT: '0' }));
    await approve;
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/allowed \(read-only\)[\s\S]*→ committed — the executor answered: "pretended to run external_automation\.read\.jobs/);
    expect(text).toMatch(/denied \(credential access\)[\s\S]*→ denied by deny-automation-credential-access/);
    expect(text).toMatch(/escalated \(creates a workflow\)[\s\S]*→ needs approval by automation-ops/);
    expect(text).toContain(`open ${h.app.url}/sandbox/`);
    expect(text).toMatch(/escalated action → committed/);
  });

  it('says so when nothing answers at --url', async () => {
    const a = capture();
    expect(await runDemo(['--url', 'http://127.0.0.1:9'], a.io, parseEnv({ PORT: '0' }))).toBe(1);
    expect(a.err.join('\n')).toMatch(/nothing answers at http:\/\/127\.0\.0\.1:9/);
  });
});
