import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { SlackEmulator } from '../slack-emulator';
import { SANDBOX_APPROVER } from './config';
import { snapshot } from './snapshot';

const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public');
const ASSETS: Record<string, string> = {
  'sandbox.js': 'text/javascript; charset=utf-8',
  'blocks.js': 'text/javascript; charset=utf-8',
  'sandbox.css': 'text/css; charset=utf-8',
};
// Inputs: { block_id: { action_id: value } } with the value forms the emulator accepts.
const inputValue = z.union([z.string(), z.array(z.string()), z.null()]);
const clickBody = z.union([
  z.strictObject({ user: z.string(), channel: z.string(), ts: z.string(), action_id: z.string(), block_id: z.string().optional(), value: z.string().optional() }),
  z.strictObject({ user: z.string(), view_id: z.string(), action_id: z.string(), block_id: z.string().optional(), value: z.string().optional() }),
]);
const commandBody = z.strictObject({ user: z.string(), channel: z.string(), command: z.string().regex(/^\/?[a-z0-9_-]+$/), text: z.string().max(4000).default('') });
const submitBody = z.strictObject({ user: z.string(), view_id: z.string(), values: z.record(z.string(), z.record(z.string(), inputValue)).default({}) });
const closeBody = z.strictObject({ user: z.string(), view_id: z.string() });

export type SandboxRoutes = { router: Router; close(): void };

/**
 * The /sandbox page: the emulator's channels rendered in a browser, live (Server-Sent Events), with
 * buttons, modals and slash commands delivered to the app exactly as Slack delivers them (signed, to
 * /slack/events). Sandbox mode only; anyone who can reach it acts as any sandbox user.
 */
export function sandboxRoutes(emulator: SlackEmulator, extra: (router: Router) => void = () => {}): SandboxRoutes {
  const router = Router();
  const streams = new Set<Response>();
  let closing = false;
  const page = readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8');

  router.use((req, res, next) => {
    // DNS rebinding: a page on evil.example whose name is made to resolve to 127.0.0.1 is same-origin with
    // itself, not with us, but its requests reach this server carrying `Host: evil.example`. Only names that
    // can only mean this machine are served.
    if (!isLoopbackHost(req.get('host'))) return void res.status(403).json({ error: 'the sandbox answers only to a loopback Host (localhost, 127.0.0.1, [::1])' });
    // Everything here is same-origin and dependency-free; nothing may be framed or loaded from elsewhere.
    res.setHeader('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'");
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'no-store');
    next();
  });
  router.get('/', (req, res) => {
    if (!req.originalUrl.split('?')[0]!.endsWith('/')) return void res.redirect(301, `${req.baseUrl}/`);
    res.type('html').send(page);
  });
  router.get('/assets/:file', (req, res) => {
    const type = ASSETS[String(req.params.file)];
    if (!type) return void res.status(404).end();
    res.type(type).send(readFileSync(join(PUBLIC_DIR, String(req.params.file)), 'utf8'));
  });
  router.get('/state', (_req, res) => void res.json({ ...snapshot(emulator), default_user: SANDBOX_APPROVER }));
  router.get('/events', (req, res) => {
    if (closing) return void res.status(503).end();
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write('retry: 1000\n\n');
    const onChange = (change: { kind?: string }) => res.write(`event: change\ndata: ${JSON.stringify({ kind: change.kind ?? 'change' })}\n\n`);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    emulator.on('change', onChange);
    streams.add(res);
    req.on('close', () => {
      clearInterval(ping);
      emulator.off('change', onChange);
      streams.delete(res);
    });
  });

  // The page's acts. Content-Type must be JSON, which a cross-site form cannot send without CORS.
  const json = express.json({ limit: '64kb', type: 'application/json' });
  const act = (handler: (body: unknown) => Promise<unknown>) => async (req: Request, res: Response) => {
    if (!req.is('application/json')) return void res.status(415).json({ error: 'send application/json' });
    try {
      res.json(summarise(await handler(req.body)));
    } catch (e) {
      const message = e instanceof z.ZodError ? e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (e as Error).message;
      res.status(400).json({ error: message });
    }
  };
  router.post('/click', json, act(async (raw) => {
    const b = clickBody.parse(raw);
    const common = { user: b.user, actionId: b.action_id, ...(b.block_id ? { blockId: b.block_id } : {}), ...(b.value !== undefined ? { value: b.value } : {}) };
    return 'view_id' in b ? emulator.clickButton({ ...common, viewId: b.view_id }) : emulator.clickButton({ ...common, channel: b.channel, ts: b.ts });
  }));
  router.post('/command', json, act(async (raw) => {
    const b = commandBody.parse(raw);
    return emulator.slashCommand({ user: b.user, channel: b.channel, command: b.command, text: b.text });
  }));
  router.post('/submit', json, act(async (raw) => {
    const b = submitBody.parse(raw);
    return emulator.submitView({ user: b.user, viewId: b.view_id, values: b.values });
  }));
  router.post('/close-view', json, act(async (raw) => {
    const b = closeBody.parse(raw);
    return (await emulator.closeView({ user: b.user, viewId: b.view_id })) ?? { ok: true, status: 200 };
  }));
  extra(router);

  return {
    router,
    close() {
      closing = true;
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}

/** `localhost`, `127.x.y.z` or `[::1]`, with or without a port. */
export function isLoopbackHost(host: string | undefined): boolean {
  if (!host) return false;
  const m = /^(\[[0-9a-f:.]+\]|[^:]+)(?::(\d{1,5}))?$/i.exec(host.trim());
  if (!m) return false;
  const name = m[1]!.toLowerCase();
  return name === 'localhost' || name === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** What the page needs to know about a delivery: did the app answer in time, and if not why. */
function summarise(result: unknown): Record<string, unknown> {
  const r = (result ?? {}) as { ok?: boolean; status?: number; error?: string; ackError?: string; elapsedMs?: number };
  return { ok: r.ok ?? true, status: r.status ?? 200, error: r.error ?? null, ack_error: r.ackError ?? null, elapsed_ms: r.elapsedMs ?? null };
}
