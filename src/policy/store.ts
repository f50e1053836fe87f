import { watch, type FSWatcher } from 'node:fs';
import type { BundleFile, LoadResult, PolicyBundle } from './bundle.ts';
import { formatPolicyError, type PolicyError } from './errors.ts';
import { loadPolicyBundle } from './loader.ts';

/** What a `version_log` row records: which bundle is now in force, from which files, and why it was loaded. */
export type PolicyLoadEvent = {
  version: string;
  previous_version: string | null;
  /** False when a reload found the same contents; the bundle in force did not change. */
  changed: boolean;
  files: readonly BundleFile[];
  rule_count: number;
  reason: string;
  loaded_at: Date;
};

/** A bundle that failed validation; the last good one (`kept_version`) stays in force. */
export type PolicyRefusedEvent = {
  reason: string;
  errors: readonly PolicyError[];
  kept_version: string | null;
  refused_at: Date;
};

export type PolicyStoreOptions = {
  onLoad?(event: PolicyLoadEvent): void;
  onRefused?(event: PolicyRefusedEvent): void;
  /** Failures with no caller to return them to (a watcher error, a throwing callback during a watched reload). */
  onError?(error: unknown): void;
  /** How long file events must be quiet before a reload; editors write files in several steps. */
  debounceMs?: number;
};

/** Thrown by `PolicyStore.open` only: without a first valid bundle there is nothing to keep in force. */
export class PolicyBundleRefusedError extends Error {
  constructor(
    readonly dir: string,
    readonly errors: readonly PolicyError[],
  ) {
    super(`policy bundle in ${dir} refused:\n${errors.map(formatPolicyError).join('\n')}`);
    this.name = 'PolicyBundleRefusedError';
  }
}

/**
 * Holds the bundle in force and swaps it whole on reload. A decision reads `current()` once and
 * evaluates synchronously, so it always uses exactly one bundle.
 */
export class PolicyStore {
  private bundle: PolicyBundle;
  private queue: Promise<unknown> = Promise.resolve();
  private watcher: FSWatcher | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private readonly onSighup = () => this.reloadInBackground('SIGHUP');

  private constructor(
    readonly dir: string,
    bundle: PolicyBundle,
    private readonly options: PolicyStoreOptions,
  ) {
    this.bundle = bundle;
  }

  static async open(dir: string, options: PolicyStoreOptions = {}): Promise<PolicyStore> {
    const result = await loadPolicyBundle(dir);
    if (!result.ok) {
      options.onRefused?.({ reason: 'startup', errors: result.errors, kept_version: null, refused_at: new Date() });
      throw new PolicyBundleRefusedError(dir, result.errors);
    }
    const store = new PolicyStore(dir, result.bundle, options);
    options.onLoad?.(loadEvent(result.bundle, null, 'startup'));
    return store;
  }

  current(): PolicyBundle {
    return this.bundle;
  }

  /** Loads the directory again; reloads run one at a time so events are emitted in order. */
  reload(reason: string): Promise<LoadResult> {
    const next = this.queue.then(() => this.load(reason));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Reloads on file changes (debounced) and on SIGHUP. Calling it twice is harmless. */
  watch(): void {
    if (this.watcher) return;
    const debounceMs = this.options.debounceMs ?? 100;
    this.watcher = watch(this.dir, { persistent: false }, (_event, name) => {
      if (this.debounce) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => {
        this.debounce = null;
        this.reloadInBackground(name ? `file change: ${name}` : 'file change');
      }, debounceMs);
    });
    this.watcher.on('error', (error) => this.reportError(error));
    process.on('SIGHUP', this.onSighup);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = null;
    process.off('SIGHUP', this.onSighup);
  }

  private async load(reason: string): Promise<LoadResult> {
    const result = await loadPolicyBundle(this.dir);
    const previous = this.bundle;
    if (!result.ok) {
      this.options.onRefused?.({ reason, errors: result.errors, kept_version: previous.version, refused_at: new Date() });
      return result;
    }
    const changed = result.bundle.version !== previous.version;
    // Keep the old object when nothing changed, so identity checks stay meaningful.
    if (changed) this.bundle = result.bundle;
    this.options.onLoad?.(loadEvent(this.bundle, previous.version, reason, changed));
    return changed ? result : { ok: true, bundle: previous };
  }

  private reloadInBackground(reason: string): void {
    this.reload(reason).catch((error: unknown) => this.reportError(error));
  }

  private reportError(error: unknown): void {
    if (this.options.onError) this.options.onError(error);
    else process.emitWarning(`policy store: ${(error as Error)?.message ?? String(error)}`);
  }
}

function loadEvent(bundle: PolicyBundle, previous: string | null, reason: string, changed = true): PolicyLoadEvent {
  return {
    version: bundle.version,
    previous_version: previous,
    changed,
    files: bundle.files,
    rule_count: bundle.ruleCount,
    reason,
    loaded_at: new Date(),
  };
}
