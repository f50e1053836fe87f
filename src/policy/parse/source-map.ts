import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type Position = { line: number; column: number };

/** Resolves a data path (as zod reports it) to the line and column of the YAML that produced it. */
export class SourceMap {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  at(offset: number): Position {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /** The node at `path`, or the deepest existing ancestor when the path names something missing. */
  nodeAt(path: readonly PropertyKey[]): { node: Node | null; found: boolean } {
    let node: unknown = this.doc.contents;
    for (const key of path) {
      const next = childOf(node, key);
      if (next === undefined) return { node: asNode(node), found: false };
      node = next;
    }
    return { node: asNode(node), found: true };
  }

  /** Position of the value at `path` (falling back to the nearest ancestor). */
  positionOf(path: readonly PropertyKey[]): Position {
    const { node } = this.nodeAt(path);
    return this.at(node?.range?.[0] ?? 0);
  }

  /** Position of the key `key` inside the map at `path`, for "unknown key" errors. */
  keyPositionOf(path: readonly PropertyKey[], key: string): Position {
    const { node, found } = this.nodeAt(path);
    if (found && isMap(node)) {
      for (const pair of node.items) {
        if (isScalar(pair.key) && String(pair.key.value) === key) return this.at(pair.key.range?.[0] ?? 0);
      }
    }
    return this.at(node?.range?.[0] ?? 0);
  }
}

function childOf(node: unknown, key: PropertyKey): unknown {
  if (isMap(node)) {
    const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(key));
    return pair ? (pair.value ?? undefined) : undefined;
  }
  if (isSeq(node) && typeof key === 'number') return node.items[key];
  return undefined;
}

function asNode(value: unknown): Node | null {
  return value && typeof value === 'object' && 'range' in value ? (value as Node) : null;
}
