import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { METHODS as EMULATED_METHODS } from '../../src/slack-emulator/web-api/methods';

const ROOT = join(__dirname, '..', '..');

/**
 * Web API method → bot scope it needs, from Slack's method reference (api.slack.com/methods/<method>).
 * `null`: no scope needed. A method the code starts calling must be added here, with its scope.
 */
const METHOD_SCOPES: Record<string, string | null> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'chat.delete': 'chat:write',
  'chat.getPermalink': null,
  'views.open': null,
  'views.update': null,
  'views.push': null,
  'views.publish': null,
  'users.info': 'users:read',
  'users.list': 'users:read',
  'users.lookupByEmail': 'users:read.email',
  'usergroups.users.list': 'usergroups:read',
  'usergroups.list': 'usergroups:read',
  'conversations.info': 'channels:read',
  'conversations.members': 'channels:read',
  'auth.test': null,
};

const manifestSchema = z.strictObject({
  _metadata: z.strictObject({ major_version: z.literal(2), minor_version: z.number().int() }),
  display_information: z.strictObject({
    name: z.string().min(1).max(35),
    description: z.string().min(1).max(140),
    long_description: z.string().min(175).max(4000),
    background_color: z.string().regex(/^#[0-9a-fA-F]{6}$/),
  }),
  features: z.strictObject({
    bot_user: z.strictObject({ display_name: z.string().min(1).max(80), always_online: z.boolean() }),
    slash_commands: z
      .array(
        z.strictObject({
          command: z.string().regex(/^\/[a-z0-9_-]{1,31}$/),
          url: z.string().url().startsWith('https://'),
          description: z.string().min(1).max(2000),
          usage_hint: z.string().max(1000).optional(),
          should_escape: z.boolean(),
        }),
      )
      .min(1),
  }),
  oauth_config: z.strictObject({ scopes: z.strictObject({ bot: z.array(z.string().regex(/^[a-z]+(:[a-z.]+)?$/)).min(1) }) }),
  settings: z.strictObject({
    interactivity: z.strictObject({ is_enabled: z.boolean(), request_url: z.string().url().startsWith('https://') }),
    org_deploy_enabled: z.literal(false),
    socket_mode_enabled: z.boolean(),
    token_rotation_enabled: z.boolean(),
  }),
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'slack-emulator' ? [] : sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every `<something>client.<family>.<method>(` in src/ (the emulator aside), across line breaks. */
function calledMethods(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\b\w*[cC]lient\s*\.\s*([a-z]+(?:\s*\.\s*[a-zA-Z]+)+)\s*\(/g)) {
      const method = m[1]!.replace(/\s+/g, '');
      found.set(method, [...(found.get(method) ?? []), relative(ROOT, file)]);
    }
    // Bolt's say() posts with chat.postMessage.
    if (/\bsay\s*\(/.test(text) && file.includes(join('src', 'slack'))) found.set('chat.postMessage', [...(found.get('chat.postMessage') ?? []), relative(ROOT, file)]);
  }
  return found;
}

function registeredCommands(): string[] {
  return sourceFiles(join(ROOT, 'src')).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/\bapp\s*\.\s*command\s*(?:<[^>]*>)?\s*\(\s*['"`](\/[^'"`]+)['"`]/g)].map((m) => m[1]!),
  );
}

const manifest = manifestSchema.parse(parse(readFileSync(join(ROOT, 'manifest.yml'), 'utf8')));
const scopes = manifest.oauth_config.scopes.bot;

describe('manifest.yml', () => {
  it('is a Slack app manifest (v2) with the app as it is: name, bot user, interactivity, no org deploy', () => {
    expect(manifest.display_information.name).toBe('Countersign');
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.org_deploy_enabled).toBe(false);
    // HTTP mode: Slack posts interactions and commands where Bolt's ExpressReceiver listens.
    expect(manifest.settings.interactivity.request_url).toMatch(/\/slack\/events$/);
    for (const c of manifest.features.slash_commands) expect(c.url).toMatch(/\/slack\/events$/);
  });

  it('covers every Web API method the code calls with a bot scope', () => {
    const called = calledMethods();
    expect(called.size).toBeGreaterThan(0);
    for (const [method, files] of called) {
      expect(METHOD_SCOPES, `${method} (called in ${files.join(', ')}) is missing from this test's METHOD_SCOPES table`).toHaveProperty([method]);
      const scope = METHOD_SCOPES[method];
      if (scope) expect(scopes, `${method} needs ${scope}`).toContain(scope);
      // The tests can only exercise what the emulator serves.
      expect(Object.keys(EMULATED_METHODS), `${method} is not served by the Slack emulator`).toContain(method);
    }
  });

  it('asks for no scope the code does not use', () => {
    const needed = new Set([...calledMethods().keys()].map((m) => METHOD_SCOPES[m]).filter((s): s is string => Boolean(s)));
    if (manifest.features.slash_commands.length) needed.add('commands');
    expect([...scopes].sort()).toEqual([...needed].sort());
  });

  it('declares every slash command the code handles, and /audit and /countersign', () => {
    const declared = manifest.features.slash_commands.map((c) => c.command);
    const handled = registeredCommands();
    expect(handled.length).toBeGreaterThan(0);
    for (const command of handled) expect(declared).toContain(command);
    expect(declared).toEqual(expect.arrayContaining(['/audit', '/countersign']));
    for (const c of manifest.features.slash_commands) expect(c.usage_hint, c.command).toBeTruthy();
  });
});
