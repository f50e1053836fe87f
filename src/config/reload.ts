import type { Db } from '../db/client';
import { logger } from '../lib/logger';
import type { ConfigStore } from './store';
import { configDiff, fileOwner, lastLoadedConfig, recordConfigVersion } from './version-log';

/**
 * Starts the version log of countersign.yaml for a running instance: records the version it started with when
 * it differs from the last one recorded (a change made while it was down, with its diff), then watches the
 * file and records every reload and every refused change.
 */
export async function startConfigVersionLog(db: Db, store: ConfigStore, instance: string): Promise<void> {
  const { version, snapshot } = store.currentVersion();
  const last = await lastLoadedConfig(db, store.path);
  if (last?.version !== version) {
    await recordConfigVersion(db, {
      outcome: 'loaded',
      version,
      path: store.path,
      snapshot,
      diff: configDiff(last?.snapshot ?? null, snapshot),
      errors: null,
      changedBy: fileOwner(store.path),
      reason: 'startup',
      instance,
    });
  }
  const fail = (err: unknown) => logger.error({ err }, 'could not record a configuration change in the version log');
  store.watch({
    onLoad: (ev) => {
      logger.info({ version: ev.version, changes: ev.diff.length, reason: ev.reason }, 'configuration reloaded');
      recordConfigVersion(db, { outcome: 'loaded', version: ev.version, path: store.path, snapshot: ev.snapshot, diff: ev.diff, errors: null, changedBy: fileOwner(store.path), reason: ev.reason, instance }).catch(fail);
    },
    onRefused: (ev) => {
      logger.error({ errors: ev.errors, kept: ev.keptVersion }, 'configuration change refused; the last good configuration stays in force');
      recordConfigVersion(db, { outcome: 'refused', version: ev.keptVersion, path: store.path, snapshot: null, diff: [], errors: ev.errors, changedBy: fileOwner(store.path), reason: ev.reason, instance }).catch(fail);
    },
    onError: (err) => logger.warn({ err }, 'configuration watcher failed'),
  });
}
