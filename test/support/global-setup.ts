import { dropStaleTestDatabases, ensureTemplate } from './db';

/** Builds the migrated template database once per run; each test file clones it. */
export default async function setup(): Promise<void> {
  await dropStaleTestDatabases();
  await ensureTemplate();
}
