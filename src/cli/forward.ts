import { isAbsolute, resolve } from 'node:path';
import { readChannel, type ChannelFrame, type ChannelRequest } from './admin-channel';
import type { CliIo } from './io';

/** Flags whose value is a file or directory (a URL is left alone: `--keys URL|FILE`, `--url`). */
const PATH_FLAGS = new Set(['out', 'file', 'anchors', 'keys', 'config', 'policies', 'candidate']);

/**
 * Path arguments are resolved here: the server runs the command in its own working directory. The operator's
 * working directory goes along too, for what a command writes by default (`drill` into ./drill-reports).
 */
export function absolutePaths(argv: string[]): string[] {
  const out = [...argv];
  const abs = (p: string) => (p === '-' || isAbsolute(p) || /^https?:\/\//.test(p) ? p : resolve(p));
  for (let i = 0; i < out.length; i++) {
    const a = out[i]!;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    const name = a.slice(2, eq > 0 ? eq : undefined);
    if (!PATH_FLAGS.has(name)) continue;
    if (eq > 0) out[i] = `--${name}=${abs(a.slice(eq + 1))}`;
    else if (out[i + 1] !== undefined && !out[i + 1]!.startsWith('--')) out[i + 1] = abs(out[++i]!);
  }
  // `policy replay DIR` (the candidate bundle) and `config check FILE` are read by the server.
  const positional = (out[0] === 'policy' && out[1] === 'replay') || (out[0] === 'config' && out[1] === 'check');
  if (positional && out[2] && !out[2].startsWith('--')) out[2] = abs(out[2]);
  return out;
}

/**
 * Runs an operator command in the server that holds the embedded database, through its admin channel, printing
 * its output as it comes. Returns the command's exit code.
 */
export async function forwardToServer(dataDir: string, holderPid: number, argv: string[], operator: string, io: CliIo): Promise<number> {
  const channel = readChannel(dataDir, holderPid);
  if (!channel) {
    io.stderr(`the Countersign running as pid ${holderPid} holds ${dataDir} but is not ready for operator commands yet (it is starting or stopping); try again in a moment`);
    return 1;
  }
  const request: ChannelRequest = { argv: absolutePaths(argv), operator, cwd: process.cwd() };
  let res: Response;
  try {
    res = await fetch(`${channel.url}/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${channel.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
  } catch (e) {
    io.stderr(`could not reach the running Countersign (pid ${holderPid}) at ${channel.url}: ${(e as Error).message}; is it stopping?`);
    return 1;
  }
  if (!res.ok || !res.body) {
    io.stderr(`the running Countersign refused the command (HTTP ${res.status}): ${(await res.text()).trim()}`);
    return 1;
  }
  let exit: number | null = null;
  let pending = '';
  const decoder = new TextDecoder();
  const take = (line: string) => {
    if (!line) return;
    const frame = JSON.parse(line) as ChannelFrame;
    if ('stdout' in frame) io.stdout(frame.stdout);
    else if ('stderr' in frame) io.stderr(frame.stderr);
    else exit = frame.exit;
  };
  for await (const chunk of res.body) {
    pending += decoder.decode(chunk as Uint8Array, { stream: true });
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      take(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  }
  take(pending);
  if (exit === null) {
    io.stderr('the running Countersign stopped before the command finished; check with `countersign audit show` or run it again');
    return 1;
  }
  return exit;
}
