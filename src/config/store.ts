import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { configureRedaction } from '../audit/redact';
import { compileContracts } from '../contracts/validate';
import { loadFileConfig, type FileConfig } from './file-config';
import { configDiff, configSnapshot, configVersion, type ConfigChange } from './version-log';

export type ConfigLoadEvent = { version: string; snapshot: Record<string, unknown>; diff: ConfigChange[]; reason: string };
export type ConfigRefusedEvent = { errors: string[]; keptVersion: string; reason: string; snapshot: Record<string, unknown> | null; diff: ConfigChange[] };

export type ConfigListeners = {
  onLoad?(event: ConfigLoadEvent): void;
  onRefused?(event: ConfigRefusedEvent): void;
  onError?(error: unknown): void;
};

export type ConfigStoreOptions = { debounceMs?: number; env?: Record<string, string | undefined> };

/** Validates a candidate: it must parse (zod) and its tool contracts must compile. */
function validate(path: string, env: Record<string, string | undefined>): { ok: true; config: FileConfig } | { ok: false; errors: string[] } {
  try {
    const config = loadFileConfig(path, env);
    compileContracts(config);
    return { ok: true, config };
  } catch (e) {
    // ConfigError (unreadable, bad YAML, schema), ContractConfigError, a YAML parser error: all refusals.
    return { ok: false, errors: (e instanceof Error ? e.message : String(e)).split('\n').filter(Boolean) };
  }
}

/**
 * countersign.yaml, reloaded as the policy bundle is (src/policy/store.ts): on a file change or SIGHUP the file
 * is validated whole; a valid one replaces the settings in force, an invalid one is refused and the last good
 * one stays. Every component was handed the same config object at start-up and reads it at use time, so the
 * new settings are swapped into that object: the next request, release or card sees them.
 */
export class ConfigStore {
  private version: string;
  private snapshot: Record<string, unknown>;
  private watcher: FSWatcher | null = null;
  private debounce: NodeJS.Timeout | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private listeners: ConfigListeners = {};
  private readonly onSighup = () => this.reloadInBackground('SIGHUP');

  private constructor(
    readonly path: string,
    private readonly config: FileConfig,
    private readonly options: ConfigStoreOptions,
  ) {
    this.snapshot = configSnapshot(config);
    this.version = configVersion(this.snapshot);
  }

  /** Loads the file at start-up; throws ConfigError as before when it is invalid (nothing to keep yet). */
  static open(path: string, options: ConfigStoreOptions = {}): ConfigStore {
    const config = loadFileConfig(path, options.env);
    compileContracts(config);
    configureRedaction(config.redaction);
    return new ConfigStore(path, config, options);
  }

  current(): FileConfig {
    return this.config;
  }

  currentVersion(): { version: string; snapshot: Record<string, unknown> } {
    return { version: this.version, snapshot: this.snapshot };
  }

  reload(reason: string): Promise<{ ok: boolean; changed: boolean; version: string }> {
    const next = this.queue.then(() => this.load(reason));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Reloads on changes to the file (its directory is watched: editors and ConfigMaps replace files) and on SIGHUP. */
  watch(listeners: ConfigListeners = this.listeners): void {
    this.listeners = listeners;
    if (this.watcher) return;
    const name = basename(this.path);
    this.watcher = watch(dirname(this.path), { persistent: false }, (_event, file) => {
      if (file && file !== name && !file.startsWith('..')) return;
      if (this.debounce) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => {
        this.debounce = null;
        this.reloadInBackground(`file change: ${name}`);
      }, this.options.debounceMs ?? 100);
    });
    this.watcher.on('error', (e) => this.listeners.onError?.(e));
    process.on('SIGHUP', this.onSighup);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = null;
    process.off('SIGHUP', this.onSighup);
  }

  private async load(reason: string): Promise<{ ok: boolean; changed: boolean; version: string }> {
    const result = validate(this.path, this.options.env ?? process.env);
    if (!result.ok) {
      this.listeners.onRefused?.({ errors: result.errors, keptVersion: this.version, reason, snapshot: null, diff: [] });
      return { ok: false, changed: false, version: this.version };
    }
    const snapshot = configSnapshot(result.config);
    const version = configVersion(snapshot);
    if (version === this.version) return { ok: true, changed: false, version };
    const diff = configDiff(this.snapshot, snapshot);
    // Swap in place: every holder of the object sees the new settings, none sees a half-applied mix for long
    // (the swap is synchronous; a request reads the object between two awaits).
    for (const key of Object.keys(this.config) as Array<keyof FileConfig>) if (!(key in result.config)) delete this.config[key];
    Object.assign(this.config, result.config);
    configureRedaction(this.config.redaction);
    this.snapshot = snapshot;
    this.version = version;
    this.listeners.onLoad?.({ version, snapshot, diff, reason });
    return { ok: true, changed: true, version };
  }

  private reloadInBackground(reason: string): void {
    this.reload(reason).catch((e: unknown) => this.listeners.onError?.(e));
  }
}
