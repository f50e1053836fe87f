// docs/benchmarks.md quotes the latest full run's figures between two markers, copied from bench/results.md by
// `npm run bench` (a quick run leaves them alone), so the document cannot drift from the results
// (test/docs/benchmarks-docs.test.ts checks that it has not).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DOCS_FILE = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));
export const START = '<!-- bench/results.md: start (written by npm run bench) -->';
export const END = '<!-- bench/results.md: end -->';

/** What the document quotes of bench/results.md: everything before the other features' sections, without the title. */
export function resultsSummary(resultsMarkdown: string): string {
  const cut = resultsMarkdown.search(/^## /m);
  const head = cut === -1 ? resultsMarkdown : resultsMarkdown.slice(0, cut);
  return head.replace(/^# Benchmark results\n+/, '').trim();
}

/** The quoted part of docs/benchmarks.md, or null when the markers are missing. */
export function quotedSummary(docsMarkdown: string): string | null {
  const a = docsMarkdown.indexOf(START);
  const b = docsMarkdown.indexOf(END);
  if (a === -1 || b === -1 || b < a) return null;
  return docsMarkdown.slice(a + START.length, b).trim();
}

export function syncBenchmarkDocs(resultsMarkdown: string): void {
  const docs = readFileSync(DOCS_FILE, 'utf8');
  if (quotedSummary(docs) === null) throw new Error(`${DOCS_FILE} has no ${START} … ${END} section`);
  const a = docs.indexOf(START);
  const b = docs.indexOf(END);
  writeFileSync(DOCS_FILE, `${docs.slice(0, a + START.length)}\n${resultsSummary(resultsMarkdown)}\n${docs.slice(b)}`);
}
