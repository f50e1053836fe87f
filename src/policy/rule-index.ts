import { byPriority, type CompiledRule } from './compiled-rule.ts';
import { isExactGlob } from './glob.ts';

type TrieNode = {
  literal: Map<string, TrieNode>;
  star: TrieNode | null;
  /** Rules whose glob ends here (matched when the class has no segments left). */
  end: CompiledRule[];
  /** Rules whose glob ends with a trailing `*` here (matched when one or more segments are left). */
  tail: CompiledRule[];
};

const NONE: readonly CompiledRule[] = Object.freeze([]);

/** Most distinct non-exact action classes remembered at once. */
const MEMO_LIMIT = 10_000;

function node(): TrieNode {
  return { literal: new Map(), star: null, end: [], tail: [] };
}

/**
 * The compiled matcher: action class → candidate rules in priority order. Exact names are one
 * hash lookup (their list already merged with every glob that matches them); other classes walk
 * a segment trie whose cost depends on the number of segments, not the number of rules.
 */
export class RuleIndex {
  /** Exact names (permanent) plus memoised trie walks for other valid classes (bounded). */
  private readonly resolved = new Map<string, readonly CompiledRule[]>();
  private readonly exactCount: number;
  private readonly root = node();

  constructor(rules: readonly CompiledRule[]) {
    const exactLists = new Map<string, CompiledRule[]>();
    for (const rule of rules) {
      for (const glob of rule.globs) {
        if (isExactGlob(glob)) {
          const list = exactLists.get(glob.text) ?? [];
          list.push(rule);
          exactLists.set(glob.text, list);
        } else {
          this.insert(glob.segments, glob.tail, rule);
        }
      }
    }
    sortTrie(this.root);
    for (const [name, list] of exactLists) {
      this.resolved.set(name, Object.freeze(mergeSorted([dedupe(list.sort(byPriority)), this.walk(name)])));
    }
    this.exactCount = this.resolved.size;
  }

  /**
   * Candidates already resolved for this class, or undefined. A hit also means the class is
   * valid: only exact names from the bundle and validated classes are ever stored.
   */
  resolvedCandidates(actionClass: string): readonly CompiledRule[] | undefined {
    return this.resolved.get(actionClass);
  }

  /**
   * Candidate rules for a valid action class, highest priority first, each rule once. Trie walks
   * are memoised because real traffic uses a small vocabulary of classes; the memo is bounded and
   * starts over when full, so arbitrary classes cannot grow memory.
   */
  candidates(actionClass: string): readonly CompiledRule[] {
    const known = this.resolved.get(actionClass);
    if (known !== undefined) return known;
    const walked = this.walk(actionClass);
    if (this.resolved.size - this.exactCount >= MEMO_LIMIT) this.forgetWalks();
    this.resolved.set(actionClass, walked);
    return walked;
  }

  private forgetWalks(): void {
    let position = 0;
    for (const key of this.resolved.keys()) {
      // Exact names were inserted first, so everything after them is memo.
      if (position++ >= this.exactCount) this.resolved.delete(key);
    }
  }

  private insert(segments: readonly string[], tail: boolean, rule: CompiledRule): void {
    let current = this.root;
    const steps = tail ? segments.length - 1 : segments.length;
    for (let i = 0; i < steps; i++) {
      const segment = segments[i]!;
      if (segment === '*') current = current.star ??= node();
      else {
        let next = current.literal.get(segment);
        if (!next) current.literal.set(segment, (next = node()));
        current = next;
      }
    }
    (tail ? current.tail : current.end).push(rule);
  }

  private walk(actionClass: string): readonly CompiledRule[] {
    const segments = actionClass.split('.');
    const found: (readonly CompiledRule[])[] = [];
    collect(this.root, segments, 0, found);
    if (found.length === 0) return NONE;
    if (found.length === 1) return found[0]!;
    return mergeSorted(found);
  }
}

function collect(at: TrieNode, segments: readonly string[], i: number, found: (readonly CompiledRule[])[]): void {
  if (i === segments.length) {
    if (at.end.length > 0) found.push(at.end);
    return;
  }
  if (at.tail.length > 0) found.push(at.tail);
  const next = at.literal.get(segments[i]!);
  if (next) collect(next, segments, i + 1, found);
  if (at.star) collect(at.star, segments, i + 1, found);
}

function sortTrie(at: TrieNode): void {
  at.end = dedupe(at.end.sort(byPriority));
  at.tail = dedupe(at.tail.sort(byPriority));
  for (const child of at.literal.values()) sortTrie(child);
  if (at.star) sortTrie(at.star);
}

/** Merges priority-sorted lists, dropping a rule that matched through more than one glob. */
function mergeSorted(lists: readonly (readonly CompiledRule[])[]): CompiledRule[] {
  const all: CompiledRule[] = [];
  for (const list of lists) for (const rule of list) all.push(rule);
  return dedupe(all.sort(byPriority));
}

function dedupe(sorted: CompiledRule[]): CompiledRule[] {
  let write = 0;
  for (let read = 0; read < sorted.length; read++) {
    if (write === 0 || sorted[write - 1] !== sorted[read]) sorted[write++] = sorted[read]!;
  }
  sorted.length = write;
  return sorted;
}
