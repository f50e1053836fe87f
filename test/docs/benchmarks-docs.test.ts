import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOCS_FILE, quotedSummary, resultsSummary } from '../../bench/lib/docs-sync';

// docs/benchmarks.md quotes bench/results.md (npm run bench copies it); a hand edit to either side shows here.
describe('docs/benchmarks.md', () => {
  it('quotes the figures of bench/results.md as they are', () => {
    const docs = readFileSync(DOCS_FILE, 'utf8');
    const results = readFileSync(new URL('../../bench/results.md', import.meta.url), 'utf8');
    const quoted = quotedSummary(docs);
    expect(quoted, 'docs/benchmarks.md has lost its quoted section').not.toBeNull();
    expect(quoted).toBe(resultsSummary(results));
  });

  it('quotes no policy or audit figure of its own (they live in bench/results.md)', () => {
    const docs = readFileSync(DOCS_FILE, 'utf8');
    const outside = docs.replace(/<!-- bench\/results\.md: start[\s\S]*<!-- bench\/results\.md: end -->/, '');
    expect(outside).not.toMatch(/\d[\d,.]*\s*(?:[MK]\s*)?decisions\/s/);
  });
});
