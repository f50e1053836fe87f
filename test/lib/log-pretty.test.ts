import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { formatLogLine } from '../../src/lib/log-pretty';
import { childEnv, REPO_ROOT } from '../support/process';

describe('pretty log lines (a terminal)', () => {
  it('shows time, level, message and the fields a person needs, not the JSON', () => {
    const line = JSON.stringify({ level: 40, time: '2026-12-06T02:37:16.037Z', service: 'countersign', kid: 'ed25519-e0a8', msg: 'the receipt signing key is stored unencrypted', path: '/x y' });
    expect(formatLogLine(line, { color: false })).toBe('02:37:16 WARN  the receipt signing key is stored unencrypted kid=ed25519-e0a8 path="/x y"\n');
  });

  it("puts an error's stack under its line, and colours only when asked", () => {
    const line = JSON.stringify({ level: 50, time: 1765000000000, msg: 'boom', err: { type: 'Error', message: 'bad', stack: 'Error: bad\n    at f (x.ts:1:1)' } });
    const plain = formatLogLine(line, { color: false });
    expect(plain).toMatch(/^\d\d:\d\d:\d\d ERROR boom\n    Error: bad\n        at f \(x\.ts:1:1\)\n$/);
    expect(plain).not.toContain('\x1b[');
    expect(formatLogLine(line, { color: true })).toContain('\x1b[31mERROR');
  });

  it('passes through a line that is not JSON', () => {
    expect(formatLogLine('not json', { color: false })).toBe('not json');
  });

  it('LOG_FORMAT chooses: pretty lines or one JSON object per line, on stderr', async () => {
    const script = "const { logger } = await import('./src/lib/logger.ts'); logger.warn({ a: 1 }, 'hello');";
    const runWith = (format: string) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: REPO_ROOT,
        env: childEnv({ LOG_FORMAT: format, LOG_LEVEL: 'info' }),
      });
    const pretty = await runWith('pretty');
    expect(pretty.stdout).toBe('');
    expect(pretty.stderr).toMatch(/^\d\d:\d\d:\d\d WARN  hello a=1\n$/);
    const json = await runWith('json');
    expect(JSON.parse(json.stderr)).toMatchObject({ level: 40, msg: 'hello', a: 1, service: 'countersign' });
  });
});
