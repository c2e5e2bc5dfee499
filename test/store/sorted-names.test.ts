import { describe, expect, it } from 'vitest';
import { SortedNames, compareUtf8 } from '../../src/store/sorted-names.ts';

describe('sorted endpoint names', () => {
  it('compares in UTF-8 byte order, surrogate pairs after U+E000-FFFF', () => {
    const names = ['b', 'a', 'ab', '\uffff', '\u{1f600}', 'é', 'Z', ''];
    const byBytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...names].sort(compareUtf8)).toEqual(byBytes);
  });

  it('keeps thousands of names in order across chunks, pages after a name, removes', () => {
    const s = new SortedNames();
    // fixed pseudo-random order (LCG, seed 17)
    let x = 17;
    const names: string[] = [];
    for (let i = 0; i < 3000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      names.push(`dev-${x.toString(36)}`);
    }
    for (const n of names) s.insert(n);
    s.insert(names[0]!); // again: no duplicate
    const unique = [...new Set(names)].sort(compareUtf8);
    expect(s.size).toBe(unique.length);
    const all: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = s.after(after, 700);
      all.push(...page.names);
      if (!page.more) break;
      after = page.names.at(-1);
    }
    expect(all).toEqual(unique);
    for (const n of unique.slice(0, 1500)) expect(s.remove(n)).toBe(true);
    expect(s.remove('nope')).toBe(false);
    expect(s.after(undefined, 10_000).names).toEqual(unique.slice(1500));
  });
});
