import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFileConfig } from '../../src/config/file-config';
import { defaultSandboxConfig, pointSandboxExecutor, sandboxWorkspace } from '../../src/sandbox/config';

describe('configuration', () => {
  it('countersign.example.yaml is a valid configuration', () => {
    const config = parseFileConfig(readFileSync('countersign.example.yaml', 'utf8'), { EXECUTOR_SECRET: 'an-executor-secret-0123456789' }, 'countersign.example.yaml');
    expect(Object.keys(config.approver_groups)).toEqual(['automation-ops', 'on-call']);
    expect(config.executors[0]!.secret).toBe('an-executor-secret-0123456789');
  });

  it('the built-in sandbox configuration routes automation-ops to an emulator channel and the demo executor', () => {
    const config = defaultSandboxConfig('a-sandbox-secret-0123456789');
    expect(config.approver_groups['automation-ops']).toMatchObject({ channel: 'C0AUTOMATIONOPS', members: ['U0ALEX', 'U0SAM'] });
    pointSandboxExecutor(config, 'http://127.0.0.1:4321');
    expect(config.executors[0]).toMatchObject({ name: 'sandbox', url: 'http://127.0.0.1:4321/sandbox/executor', secret: 'a-sandbox-secret-0123456789' });
  });

  it('a real configuration in sandbox mode gets a channel per approver group and a user for everyone it names', () => {
    const config = parseFileConfig(readFileSync('countersign.example.yaml', 'utf8'), { EXECUTOR_SECRET: 'an-executor-secret-0123456789' });
    const ws = sandboxWorkspace(config);
    expect(ws.channels).toEqual([
      { id: 'C0AUTOOPS', name: 'automation-ops' },
      { id: 'C0ONCALL', name: 'on-call' },
    ]);
    expect(ws.users.map((u) => u.id)).toEqual(['U0ALEX', 'U0SAM', 'U0RILEY', 'U0ALICE', 'U0BOB']);
    // A Slack user group is played by the sandbox's approvers.
    expect(ws.usergroups).toEqual([{ id: 'S0ONCALL', handle: 's0oncall', users: ['U0ALEX', 'U0SAM'] }]);
  });
});
