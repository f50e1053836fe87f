import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import type { CliIo } from './io';

/**
 * The admin channel: while a server holds the embedded database, operator commands (`countersign agents list`,
 * `audit verify`, `keys rotate`…) cannot open it themselves, so the server runs them for the operator. It
 * listens on loopback only, on a port of its own, and takes a bearer credential that it writes into the data
 * directory (mode 0600): whoever can read the data directory could open the database anyway. The answer is the
 * command's output, streamed as it is printed, as NDJSON frames.
 */
export const CHANNEL_FILE = 'admin-channel.json';

export const channelFileSchema = z.object({
  url: z.string().url(),
  token: z.string().min(32),
  pid: z.number().int().positive(),
  /** Where the server's API listens: `countersign demo` finds the running sandbox by it. */
  app_url: z.string().url().optional(),
});
export type ChannelFile = z.infer<typeof channelFileSchema>;

export const channelRequestSchema = z.object({
  argv: z.array(z.string().max(10_000)).min(1).max(100),
  operator: z.string().min(1).max(200),
  /** The operator's working directory, absolute: where a command writes what it writes by default. */
  cwd: z.string().max(4096).refine((p) => isAbsolute(p), 'an absolute path').optional(),
});
export type ChannelRequest = z.infer<typeof channelRequestSchema>;

/** One NDJSON line of the answer. */
export type ChannelFrame = { stdout: string } | { stderr: string } | { exit: number };

/** Commands the channel runs: those that need the database. `serve`, `demo`, `migrate` are refused. */
const CHANNEL_COMMANDS = new Set(['agents', 'admins', 'kill', 'resume', 'grants', 'policy', 'audit', 'keys', 'review', 'matrix', 'config', 'drill']);

export type AdminChannel = { url: string; close(): Promise<void> };

export async function startAdminChannel(
  dataDir: string,
  run: (req: ChannelRequest, io: CliIo) => Promise<number>,
  opts: { appUrl?: string } = {},
): Promise<AdminChannel> {
  const token = randomBytes(32).toString('base64url');
  const expected = Buffer.from(`Bearer ${token}`);
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
      else res.end();
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('the admin channel needs the credential in the data directory\n');
      return;
    }
    if (req.method !== 'POST' || req.url !== '/run') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 1_000_000) {
        res.writeHead(413).end();
        return;
      }
      chunks.push(c as Buffer);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      body = null;
    }
    const parsed = channelRequestSchema.safeParse(body);
    if (!parsed.success || !CHANNEL_COMMANDS.has(parsed.data.argv[0]!)) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('expected {"argv": [an operator command, …], "operator": "…"}\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const frame = (f: ChannelFrame) => res.write(`${JSON.stringify(f)}\n`);
    const io: CliIo = {
      stdout: (s) => frame({ stdout: s.endsWith('\n') ? s : `${s}\n` }),
      stderr: (s) => frame({ stderr: s.endsWith('\n') ? s : `${s}\n` }),
      readStdin: async () => '',
    };
    let code: number;
    try {
      code = await run(parsed.data, io);
    } catch (e) {
      io.stderr(`the server could not run the command: ${(e as Error).message}`);
      code = 1;
    }
    frame({ exit: code });
    res.end();
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  const file = join(dataDir, CHANNEL_FILE);
  // Written whole and private before it is visible: a reader never sees half a credential.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ url, token, pid: process.pid, ...(opts.appUrl ? { app_url: opts.appUrl } : {}) } satisfies ChannelFile), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return {
    url,
    async close() {
      try {
        if (channelFileSchema.parse(JSON.parse(readFileSync(file, 'utf8'))).pid === process.pid) rmSync(file, { force: true });
      } catch {
        /* gone or replaced */
      }
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The channel of the live server holding `dataDir`, or null (none running, or not ready). */
export function readChannel(dataDir: string, holderPid: number): ChannelFile | null {
  try {
    const channel = channelFileSchema.parse(JSON.parse(readFileSync(join(dataDir, CHANNEL_FILE), 'utf8')));
    return channel.pid === holderPid ? channel : null;
  } catch {
    return null;
  }
}
