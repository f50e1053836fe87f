import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument } from '../../src/openapi';
import { actionRequest, startHarness, type Harness } from '../support/harness';
import { ACTION_STATUSES } from '@countersign/client';

/**
 * @countersign/client as an agent gets it: packed with `npm pack`, installed into an empty project, imported by
 * plain `node` and compiled by a `moduleResolution: nodenext` TypeScript consumer whose type assertions are
 * generated from the server's OpenAPI document.
 */
const execFileAsync = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const PACKAGE_DIR = join(ROOT, 'packages/client');
let work: string;
let consumer: string;
let h: Harness;
const doc = openApiDocument() as any;

beforeAll(async () => {
  h = await startHarness({ start: { workers: false } });
  work = mkdtempSync(join(tmpdir(), 'countersign-client-pack-'));
  // `prepack` builds dist/ with tsc first.
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: PACKAGE_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const { filename } = (JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string }>)[0]!;
  consumer = join(work, 'consumer');
  execFileSync('mkdir', ['-p', consumer]);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', '--no-package-lock', join(work, filename)], { cwd: consumer, stdio: 'pipe' });
}, 180_000);
afterAll(async () => {
  await h?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const installed = () => join(consumer, 'node_modules/@countersign/client');

describe('the packed @countersign/client', () => {
  it('ships built JavaScript and declarations only, with no dependencies at all', () => {
    const pkg = JSON.parse(readFileSync(join(installed(), 'package.json'), 'utf8'));
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.peerDependencies ?? {}).toEqual({});
    const files = readdirSync(join(installed(), 'dist')).sort();
    expect(files).toEqual(expect.arrayContaining(['index.js', 'index.d.ts', 'errors.js', 'retry.js', 'types.js']));
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    // Every import is relative (with its .js extension, as Node's ESM loader needs): nothing from the server.
    for (const file of files) {
      const text = readFileSync(join(installed(), 'dist', file), 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) expect(m[1], `${file} imports ${m[1]}`).toMatch(/^\.\/[a-z-]+\.js$/);
    }
  });

  it('is imported by plain node (no loader, no TypeScript) and talks to a real server', { timeout: 120_000 }, async () => {
    const script = `
      import { createCountersignClient, CountersignError, ACTION_STATUSES } from '@countersign/client';
      const [url, token, body] = process.argv.slice(2);
      const cs = createCountersignClient({ baseUrl: url, token });
      const action = await cs.requestAction(JSON.parse(body));
      const denied = await createCountersignClient({ baseUrl: url, token: 'csa_wrong', retry: { maxRetries: 0 } }).getAction(action.id).catch((e) => e);
      console.log(JSON.stringify({ status: action.status, statuses: ACTION_STATUSES.length, error: denied instanceof CountersignError ? denied.code : String(denied) }));
    `;
    writeFileSync(join(consumer, 'run.mjs'), script);
    const { idempotency_key: _k, ...body } = actionRequest({ action_class: 'external_automation.read.jobs', context: {} });
    // Asynchronously: the server answering it runs in this process.
    const run = await execFileAsync(process.execPath, ['run.mjs', h.app.url, h.token, JSON.stringify(body)], { cwd: consumer, encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ status: 'queued', statuses: ACTION_STATUSES.length, error: 'unauthenticated' });
  });

  /**
   * One tsc run (it is slow on a loaded machine) over two files: check.ts must compile, drift.ts (a status the
   * document does not know) must not — proof that the check can fail.
   */
  let compiled: { status: number | null; output: string } | undefined;
  async function compileConsumer() {
    if (compiled) return compiled;
    const view = doc.paths['/v1/actions/{id}'].get.responses['200'].content['application/json'].schema;
    const request = doc.paths['/v1/actions'].post.requestBody.content['application/json'].schema;
    const union = (xs: string[]) => xs.map((x) => JSON.stringify(x)).join(' | ');
    const source = `
      import { createCountersignClient, ACTION_STATUSES, type ActionView, type ActionStatus, type CreateActionRequest, type Decision, type ProblemCode } from '@countersign/client';
      type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
      type RequiredKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? never : K }[keyof T];
      export const status: Equals<ActionStatus, ${union(view.properties.status.enum)}> = true;
      export const viewKeys: Equals<keyof ActionView, ${union(Object.keys(view.properties))}> = true;
      export const viewRequired: Equals<RequiredKeys<ActionView>, ${union(view.required)}> = true;
      export const decisionKeys: Equals<keyof Decision, ${union(Object.keys(view.properties.decision.properties))}> = true;
      export const requestKeys: Equals<keyof CreateActionRequest, ${union(Object.keys(request.properties))}> = true;
      export const problemCodes: Equals<ProblemCode, ${union(doc.components.schemas.Problem.properties.code.enum)}> = true;
      const cs = createCountersignClient({ baseUrl: 'http://localhost', token: 't' });
      export const pending: Promise<ActionView> = cs.requestAction({ action_class: 'a.b' });
      export const first: ActionStatus = ACTION_STATUSES[0];
    `;
    writeFileSync(join(consumer, 'check.ts'), source);
    writeFileSync(join(consumer, 'drift.ts'), `import type { ActionStatus } from '@countersign/client';\nexport const s: ActionStatus = 'almost_done';\n`);
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [], strict: true, noEmit: true, skipLibCheck: false },
        files: ['check.ts', 'drift.ts'],
      }),
    );
    const run = await execFileAsync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: consumer, encoding: 'utf8' }).then(
      (r) => ({ status: 0, output: r.stdout + r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({ status: e.code ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
    );
    compiled = run;
    return run;
  }

  it('type-checks in a moduleResolution: nodenext consumer, its types equal to the OpenAPI document’s', async () => {
    const { output } = await compileConsumer();
    expect(output.split('\n').filter((l) => l.trim() && !l.startsWith('drift.ts'))).toEqual([]);
  }, 180_000);

  it('would notice a type out of step (the check above can fail)', async () => {
    const { status, output } = await compileConsumer();
    expect(status).not.toBe(0);
    expect(output).toMatch(/^drift\.ts\(2,14\): error TS2322: .*almost_done/m);
  }, 180_000);

  it('exports the status list the server documents', () => {
    expect([...ACTION_STATUSES]).toEqual(doc.paths['/v1/actions/{id}'].get.responses['200'].content['application/json'].schema.properties.status.enum);
  });
});
