// Paired folders A/ and B/ are matched by file stem (name without extension),
// so A/0001.jpg pairs with B/0001.png.
import * as path from 'node:path';

export interface PairMatch {
  pairs: { stem: string; a: string; b: string }[];
  onlyA: string[];
  onlyB: string[];
}

export function stemOf(name: string): string {
  return name.slice(0, name.length - path.extname(name).length);
}

export function matchPairs(aNames: string[], bNames: string[]): PairMatch {
  const bByStem = new Map(bNames.map((n) => [stemOf(n), n]));
  const aStems = new Set<string>();
  const pairs: PairMatch['pairs'] = [];
  const onlyA: string[] = [];
  for (const a of aNames) {
    const stem = stemOf(a);
    aStems.add(stem);
    const b = bByStem.get(stem);
    if (b) pairs.push({ stem, a, b });
    else onlyA.push(a);
  }
  const onlyB = bNames.filter((b) => !aStems.has(stemOf(b)));
  return { pairs, onlyA, onlyB };
}
