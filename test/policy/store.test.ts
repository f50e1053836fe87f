import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile, mkdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PolicyBundleRefusedError,
  PolicyStore,
  loadPolicyBundle,
  type PolicyLoadEvent,
  type PolicyRefusedEvent,
} from '../../src/policy/index.ts';

const policyText = (decision: 'allow' | 'deny', version = '1') => `name: p
version: "${version}"
rules:
  - id: the-rule
    applies_to: { action_class: [a.b] }
    decision: ${decision}
    reasoning: ${decision} by version ${version}
`;

let dir: string;
let store: PolicyStore | null = null;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'policy-store-'));
});
afterEach(async () => {
  store?.close();
  store = null;
  await rm(dir, { recursive: true, force: true });
});

function waitFor<T>(check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const value = check();
      if (value !== undefined) return resolve(value);
      if (Date.now() - started > timeoutMs) return reject(new Error('timed out waiting'));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describe('loadPolicyBundle (directory)', () => {
  it('reads *.yaml and *.yml, skipping tests, dotfiles and subdirectories', async () => {
    await writeFile(join(dir, 'a.yaml'), policyText('allow'));
    await writeFile(join(dir, 'b.yml'), policyText('deny').replace('name: p', 'name: q').replace('the-rule', 'other'));
    await writeFile(join(dir, 'a.test.yaml'), 'not: a policy');
    await writeFile(join(dir, '.a.yaml.swp'), 'junk');
    await writeFile(join(dir, 'README.md'), '# hi');
    await mkdir(join(dir, 'examples.yaml'));
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'c.yaml'), 'broken: [');
    const result = await loadPolicyBundle(dir);
    expect(result.ok && result.bundle.files.map((f) => f.path)).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yml')]);
  });
  it('follows symlinks, as ConfigMap mounts need', async () => {
    const real = join(dir, 'real');
    await mkdir(real);
    await writeFile(join(real, 'p.yaml'), policyText('allow'));
    const mounted = join(dir, 'mounted');
    await mkdir(mounted);
    await symlink(join(real, 'p.yaml'), join(mounted, 'p.yaml'));
    expect((await loadPolicyBundle(mounted)).ok).toBe(true);
  });
  it('refuses an empty or missing directory, a huge file and invalid UTF-8 without reading them as policy', async () => {
    const empty = await loadPolicyBundle(dir);
    expect(!empty.ok && empty.errors[0]!.code).toBe('no_policy_files');
    const missing = await loadPolicyBundle(join(dir, 'nope'));
    expect(!missing.ok && missing.errors[0]!.code).toBe('read_failed');
    await writeFile(join(dir, 'big.yaml'), Buffer.alloc(1024 * 1024 + 1, 0x20));
    await writeFile(join(dir, 'latin1.yaml'), Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xe9, 0x0a]));
    const bad = await loadPolicyBundle(dir);
    expect(!bad.ok && bad.errors.map((e) => e.code).sort()).toEqual(['file_too_large', 'invalid_encoding']);
  });
  it('gives the same version for the same contents in another directory', async () => {
    await writeFile(join(dir, 'p.yaml'), policyText('allow'));
    const other = await mkdtemp(join(tmpdir(), 'policy-store-other-'));
    await writeFile(join(other, 'p.yaml'), policyText('allow'));
    const [a, b] = await Promise.all([loadPolicyBundle(dir), loadPolicyBundle(other)]);
    await rm(other, { recursive: true, force: true });
    expect(a.ok && b.ok && a.bundle.version === b.bundle.version).toBe(true);
  });
});

describe('PolicyStore', () => {
  it('open fails with every error when the first bundle is invalid', async () => {
    await writeFile(join(dir, 'p.yaml'), 'name: p\n');
    const refused: PolicyRefusedEvent[] = [];
    await expect(PolicyStore.open(dir, { onRefused: (e) => refused.push(e) })).rejects.toBeInstanceOf(PolicyBundleRefusedError);
    expect(refused[0]).toMatchObject({ reason: 'startup', kept_version: null });
  });

  it('reload swaps in a new version and records it; a broken file is refused whole', async () => {
    await writeFile(join(dir, 'p.yaml'), policyText('allow', '1'));
    const loads: PolicyLoadEvent[] = [];
    const refusals: PolicyRefusedEvent[] = [];
    store = await PolicyStore.open(dir, { onLoad: (e) => loads.push(e), onRefused: (e) => refusals.push(e) });
    const v1 = store.current().version;
    expect(loads).toMatchObject([{ version: v1, previous_version: null, changed: true, reason: 'startup', rule_count: 1 }]);

    await writeFile(join(dir, 'p.yaml'), policyText('deny', '2'));
    const reloaded = await store.reload('admin:alice');
    expect(reloaded.ok).toBe(true);
    const v2 = store.current().version;
    expect(v2).not.toBe(v1);
    expect(loads[1]).toMatchObject({ version: v2, previous_version: v1, changed: true, reason: 'admin:alice' });
    expect(loads[1]!.files[0]).toMatchObject({ name: 'p', version: '2' });

    await writeFile(join(dir, 'p.yaml'), policyText('allow', '3').replace('decision: allow', 'decision: maybe'));
    await writeFile(join(dir, 'q.yaml'), policyText('allow', '3').replace('name: p', 'name: q').replace('the-rule', 'q-rule'));
    const refused = await store.reload('SIGHUP');
    expect(refused.ok).toBe(false);
    expect(store.current().version).toBe(v2);
    expect(store.current().evaluate({ action_class: 'a.b', context: {} }).decision).toBe('deny');
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ reason: 'SIGHUP', kept_version: v2 });
    expect(refusals[0]!.errors[0]).toMatchObject({ line: 6, code: 'invalid_value' });

    const same = await store.reload('noop');
    expect(same.ok).toBe(false);
    await rm(join(dir, 'q.yaml'));
    await writeFile(join(dir, 'p.yaml'), policyText('deny', '2'));
    const unchanged = await store.reload('touch');
    expect(unchanged.ok && unchanged.bundle).toBe(store.current());
    expect(loads.at(-1)).toMatchObject({ version: v2, changed: false, reason: 'touch' });
  });

  it('watch picks up a changed file without a restart and keeps the old bundle on a broken one', async () => {
    await writeFile(join(dir, 'p.yaml'), policyText('allow', '1'));
    const loads: PolicyLoadEvent[] = [];
    const refusals: PolicyRefusedEvent[] = [];
    store = await PolicyStore.open(dir, { debounceMs: 20, onLoad: (e) => loads.push(e), onRefused: (e) => refusals.push(e) });
    store.watch();
    store.watch();
    const v1 = store.current().version;

    await writeFile(join(dir, 'p.yaml'), policyText('deny', '2'));
    await waitFor(() => (store!.current().version !== v1 ? true : undefined));
    expect(store.current().evaluate({ action_class: 'a.b', context: {} }).reasoning).toBe('deny by version 2');
    expect(loads.at(-1)!.reason).toMatch(/^file change/);

    const v2 = store.current().version;
    await writeFile(join(dir, 'p.yaml'), 'name: p\nversion: "3"\nrules: [\n');
    await waitFor(() => (refusals.length > 0 ? true : undefined));
    expect(store.current().version).toBe(v2);
  });

  it('reloads on SIGHUP and stops listening on close', async () => {
    await writeFile(join(dir, 'p.yaml'), policyText('allow', '1'));
    const loads: PolicyLoadEvent[] = [];
    store = await PolicyStore.open(dir, { onLoad: (e) => loads.push(e) });
    const before = process.listenerCount('SIGHUP');
    store.watch();
    expect(process.listenerCount('SIGHUP')).toBe(before + 1);
    await writeFile(join(dir, 'p.yaml'), policyText('deny', '2'));
    process.emit('SIGHUP', 'SIGHUP');
    await waitFor(() => (loads.some((e) => e.reason === 'SIGHUP' && e.changed) ? true : undefined));
    store.close();
    expect(process.listenerCount('SIGHUP')).toBe(before);
  });

  it('concurrent evaluations during reloads each see exactly one version', async () => {
    await writeFile(join(dir, 'p.yaml'), policyText('allow', '0'));
    store = await PolicyStore.open(dir);
    const seen = new Map<string, Set<string>>();
    let stop = false;
    const evaluators = Array.from({ length: 8 }, async () => {
      let n = 0;
      while (!stop) {
        const bundle = store!.current();
        const d = bundle.evaluate({ action_class: 'a.b', context: {} });
        // The decision carries the version of the bundle it came from, and its reasoning matches that version.
        expect(d.policy_version).toBe(bundle.version);
        const reasons = seen.get(d.policy_version) ?? new Set();
        reasons.add(d.reasoning);
        seen.set(d.policy_version, reasons);
        if (++n % 50 === 0) await new Promise((r) => setImmediate(r));
      }
    });
    for (let v = 1; v <= 10; v++) {
      await writeFile(join(dir, 'p.yaml'), policyText(v % 2 ? 'deny' : 'allow', String(v)));
      await Promise.all([store.reload(`r${v}`), store.reload(`r${v}-again`)]);
      await new Promise((r) => setImmediate(r));
    }
    stop = true;
    await Promise.all(evaluators);
    expect(seen.size).toBeGreaterThan(1);
    for (const reasons of seen.values()) expect(reasons.size).toBe(1);
  });
});
