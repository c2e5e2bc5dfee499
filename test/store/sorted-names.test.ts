// The memory store's paging index: same order and pages as a plain sorted array by UTF-8 bytes
// (Buffer.compare, Redis' ZRANGEBYLEX order), under random adds and removals from a fixed seed.
import { describe, expect, it } from 'vitest';
import { compareUtf8, SortedNames } from '../../src/store/sorted-names.ts';
import { createRng } from '../helpers/prng.ts';

const bytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
const sign = (n: number): number => Math.sign(n);

describe('compareUtf8', () => {
  it('orders like the UTF-8 bytes, surrogate pairs after U+E000-FFFF (hand-picked pairs)', () => {
    const pairs: [string, string][] = [
      ['a', 'b'], ['ab', 'a'], ['', 'a'], ['z', 'é'], ['\uffff', '\u{10000}'], ['\ue000', '\ud7ff'], ['\u{1f600}', '\ufb01'], ['dev-2', 'dev-\u00e9'], ['x\u{10400}', 'x\uffef'],
    ];
    for (const [a, b] of pairs) expect(sign(compareUtf8(a, b)), `${a} vs ${b}`).toBe(sign(bytes(a, b)));
    // by hand: U+FFFF is EF BF BF, U+10000 is F0 90 80 80, so U+FFFF sorts first
    expect(compareUtf8('\uffff', '\u{10000}')).toBeLessThan(0);
  });
});

describe('SortedNames', () => {
  it('random adds and removals: pages match a sorted array (seed 1414)', () => {
    const rng = createRng(1414);
    const alphabet = ['a', 'b', 'z', '-', '0', '9', 'é', '\u4e2d', '\ue000', '\uffee', '\u{1f600}', '\u{10400}'];
    const name = (): string => Array.from({ length: 1 + rng.int(6) }, () => rng.pick(alphabet)).join('');
    const names = new SortedNames();
    const ref = new Set<string>();
    for (let step = 0; step < 6000; step++) {
      const n = name();
      if (rng.int(3) === 0) {
        expect(names.delete(n)).toBe(ref.delete(n));
      } else {
        names.add(n);
        ref.add(n);
      }
    }
    const sorted = [...ref].sort(bytes);
    expect(names.size).toBe(sorted.length);
    expect(names.after(undefined, sorted.length + 5)).toEqual(sorted);
    // pages of 37 from every kind of cursor: a present name, an absent one, past the end
    for (let i = 0; i < 200; i++) {
      const cursor = rng.int(2) === 0 ? sorted[rng.int(sorted.length)]! : name();
      const want = sorted.filter((s) => bytes(s, cursor) > 0).slice(0, 37);
      expect(names.after(cursor, 37), cursor).toEqual(want);
    }
    expect(names.after('\u{10ffff}', 10)).toEqual([]);
  });
});
