// Endpoint names kept in the byte order of their UTF-8 encoding (as Redis sorts them with
// ZRANGEBYLEX), for paging. A flat sorted array costs a memmove of the whole array per insertion
// (100,000 names: ~400 KB moved per registration); chunks of at most CHUNK names keep an insertion
// to a binary search and a short move.

const CHUNK = 512;

/**
 * UTF-8 byte order without encoding: UTF-16 code units compare as UTF-8 bytes do except that
 * surrogates (U+D800-DFFF, the code points past U+FFFF) must sort after U+E000-FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

export class SortedNames {
  private readonly chunks: string[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  insert(name: string): void {
    if (this.chunks.length === 0) {
      this.chunks.push([name]);
      this.count++;
      return;
    }
    const c = this.chunkFor(name);
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk, name, true);
    if (chunk[i] === name) return;
    chunk.splice(i, 0, name);
    this.count++;
    if (chunk.length > CHUNK) this.chunks.splice(c + 1, 0, chunk.splice(CHUNK / 2));
  }

  remove(name: string): boolean {
    if (this.chunks.length === 0) return false;
    const c = this.chunkFor(name);
    const chunk = this.chunks[c]!;
    const i = lowerBound(chunk, name, true);
    if (chunk[i] !== name) return false;
    chunk.splice(i, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(c, 1);
    return true;
  }

  /** Up to `limit` names that sort after `after` (all names when undefined), in order. */
  after(after: string | undefined, limit: number): { names: string[]; more: boolean } {
    const names: string[] = [];
    if (this.chunks.length === 0) return { names, more: false };
    let c = after === undefined ? 0 : this.chunkFor(after);
    let i = after === undefined ? 0 : lowerBound(this.chunks[c]!, after, false);
    for (; c < this.chunks.length; c++, i = 0) {
      const chunk = this.chunks[c]!;
      for (; i < chunk.length; i++) {
        if (names.length === limit) return { names, more: true };
        names.push(chunk[i]!);
      }
    }
    return { names, more: false };
  }

  /** The chunk whose range holds `name`: the first whose last name is >= it (or the last chunk). */
  private chunkFor(name: string): number {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid]!;
      if (compareUtf8(chunk[chunk.length - 1]!, name) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** First index whose name sorts after `name` (or equal to it, when inclusive). */
function lowerBound(list: readonly string[], name: string, inclusive: boolean): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareUtf8(list[mid]!, name);
    if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
