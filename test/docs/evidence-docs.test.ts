import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { POLICY_USAGE } from '../../src/policy/cli/index';
import { EXERCISES } from '../../src/drill/run';

/** The documents a security team decides on: every claim names its proof, and every proof must exist. */
const DOCS = ['docs/threat-model.md', 'docs/runbook.md', 'docs/rollout.md', 'docs/operations-readiness.md'];

/** Every `countersign …` word sequence the CLI's usage texts name (alternatives `a|b` expanded), with prefixes. */
function knownCommands(): Set<string> {
  const sources = [
    ...readdirSync('src/cli').filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join('src/cli', f), 'utf8')),
    POLICY_USAGE.replace(/^ {2}([a-z]+) /gm, 'countersign policy $1 '),
  ].join('\n');
  const known = new Set<string>();
  const word = '[a-z][a-z-]*(?:\\|[a-z][a-z-]*)*';
  for (const m of sources.matchAll(new RegExp(`countersign (${word}(?: ${word}){0,2})`, 'g'))) {
    let seqs: string[][] = [[]];
    for (const part of m[1]!.split(' ')) seqs = seqs.flatMap((s) => part.split('|').map((alt) => [...s, alt]));
    for (const s of seqs) for (let i = 1; i <= s.length; i++) known.add(s.slice(0, i).join(' '));
  }
  // A top-level command must also be dispatched by main.ts.
  const dispatched = new Set([...readFileSync('src/cli/main.ts', 'utf8').matchAll(/case '([a-z-]+)':/g)].map((m) => m[1]!));
  return new Set([...known].filter((k) => dispatched.has(k.split(' ')[0]!)));
}

/** Cited commands: the leading lowercase words of each `countersign …` in backticks (flags and placeholders end it). */
export function citedCommands(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/`countersign ([^`]*)`/g)) {
    const words: string[] = [];
    for (const w of m[1]!.split(/\s+/)) {
      if (!/^[a-z][a-z-]*$/.test(w) || words.length === 3) break;
      words.push(w);
    }
    if (words.length) out.push(words.join(' '));
  }
  return out;
}

export function citedTests(text: string): string[] {
  return [...text.matchAll(/\btest\/[\w./-]+?\.test\.ts\b/g)].map((m) => m[0]);
}

/** `countersign audit verify` is known when the CLI names it; `countersign policy replay x` stops at the known prefix. */
function unknownCommands(cited: string[], known: Set<string>): string[] {
  return cited.filter((c) => {
    const words = c.split(' ');
    // The longest known prefix must cover every word that is a sub-command (a trailing argument like `policies`
    // or `candidate` is data, so only the first two words are required to be known).
    const required = words.slice(0, Math.min(2, words.length)).join(' ');
    return !known.has(required) && !(words.length === 2 && known.has(words[0]!) && !hasSubcommands(words[0]!, known));
  });
}

function hasSubcommands(top: string, known: Set<string>): boolean {
  return [...known].some((k) => k.startsWith(`${top} `));
}

describe('the evidence documents cite proofs that exist', () => {
  const known = knownCommands();

  it.each(DOCS)('%s: every cited test file exists', (doc) => {
    const text = readFileSync(doc, 'utf8');
    const tests = citedTests(text);
    expect(tests.length).toBeGreaterThan(0);
    expect(tests.filter((t) => !existsSync(t))).toEqual([]);
  });

  it.each(DOCS)('%s: every cited countersign command exists', (doc) => {
    const cited = citedCommands(readFileSync(doc, 'utf8'));
    expect(cited.length).toBeGreaterThan(0);
    expect(unknownCommands(cited, known)).toEqual([]);
  });

  it.each(DOCS)('%s: every cited drill exercise exists', (doc) => {
    const text = readFileSync(doc, 'utf8');
    const exercises = [...text.matchAll(/exercise `([a-z-]+)`/g)].map((m) => m[1]!);
    expect(exercises.filter((e) => !(e in EXERCISES))).toEqual([]);
  });

  it('every threat names a proof (a test file, a drill exercise or a command)', () => {
    const rows = readFileSync('docs/threat-model.md', 'utf8').split('\n').filter((l) => /^\| T\d+ /.test(l));
    expect(rows.length).toBeGreaterThan(15);
    const proofless = rows.filter((r) => {
      const proof = r.split('|').at(-2) ?? '';
      return citedTests(proof).length === 0 && citedCommands(proof).length === 0 && !/exercise `/.test(proof);
    });
    expect(proofless).toEqual([]);
  });

  it('the runbook cites a drill exercise for every exercise there is', () => {
    const text = readFileSync('docs/runbook.md', 'utf8');
    for (const name of Object.keys(EXERCISES)) expect(text).toContain(`Rehearsed by: drill exercise \`${name}\``);
  });

  it('the checker itself catches a missing test file, an unknown command and an unknown sub-command', () => {
    const text = 'see `test/audit/no-such.test.ts`, run `countersign frobnicate --now` and `countersign audit frobnicate X` and `countersign review --since 7d`';
    expect(citedTests(text).filter((t) => !existsSync(t))).toEqual(['test/audit/no-such.test.ts']);
    expect(unknownCommands(citedCommands(text), known)).toEqual(['frobnicate', 'audit frobnicate']);
    expect(known.has('audit verify-report')).toBe(true);
    expect(known.has('policy replay')).toBe(true);
    expect(known.has('drill')).toBe(true);
  });
});
