#!/usr/bin/env node
// The CLI runs the JavaScript that `npm run build` compiled into dist/ (`npm ci` builds it through `prepare`).
// COUNTERSIGN_FROM_SOURCE=1 runs the TypeScript sources through tsx instead: the test suite sets it, so the
// processes it starts run the code under test rather than the last build.
import { existsSync } from 'node:fs';

if (process.env.COUNTERSIGN_FROM_SOURCE === '1') {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
} else {
  const entry = new URL('../dist/cli/main.js', import.meta.url);
  if (!existsSync(entry)) {
    process.stderr.write('countersign is not built: run `npm run build` (npm ci runs it too)\n');
    process.exit(1);
  }
  await import(entry.href);
}
