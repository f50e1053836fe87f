import { createHash } from 'node:crypto';

/**
 * The Merkle tree of a batch of receipts (docs/audit.md, "Batch-signed receipts"). SHA-256 with RFC 6962's
 * domain separation, so a leaf can never pass for an inner node: a leaf is H(0x00 ‖ canonical payload), an
 * inner node H(0x01 ‖ left ‖ right). Levels pair nodes left to right; an odd node out is carried up to the
 * next level unchanged (never paired with itself). Each receipt carries its path: the sibling hashes from
 * its leaf up to the root, each with the side it sits on.
 */
export type PathStep = { side: 'left' | 'right'; hash: string };

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export function leafHash(canonicalPayload: string): Buffer {
  return createHash('sha256').update(LEAF).update(canonicalPayload, 'utf8').digest();
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

/** The root over `leaves` (at least one) and, for each leaf, its path to it. */
export function merkleTree(leaves: Buffer[]): { root: Buffer; paths: PathStep[][] } {
  if (leaves.length === 0) throw new Error('a Merkle tree needs at least one leaf');
  const paths: PathStep[][] = leaves.map(() => []);
  // Which leaves sit under each node of the current level.
  let level = leaves.map((hash, i) => ({ hash, under: [i] }));
  while (level.length > 1) {
    const next: typeof level = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i]!;
      const right = level[i + 1];
      if (!right) {
        next.push(left);
        continue;
      }
      for (const leaf of left.under) paths[leaf]!.push({ side: 'right', hash: right.hash.toString('hex') });
      for (const leaf of right.under) paths[leaf]!.push({ side: 'left', hash: left.hash.toString('hex') });
      next.push({ hash: nodeHash(left.hash, right.hash), under: [...left.under, ...right.under] });
    }
    level = next;
  }
  return { root: level[0]!.hash, paths };
}

/** The root a leaf and its path lead to (compare it with the signed root). */
export function rootFromPath(leaf: Buffer, path: readonly PathStep[]): Buffer {
  let hash = leaf;
  for (const step of path) {
    const sibling = Buffer.from(step.hash, 'hex');
    hash = step.side === 'left' ? nodeHash(sibling, hash) : nodeHash(hash, sibling);
  }
  return hash;
}
