// Endpoint names in UTF-8 byte order (the order Redis ZRANGEBYLEX pages in), for the memory store's
// paging. A list of sorted blocks of at most BLOCK names: adding or removing a name moves at most
// one block's entries (one flat array of 100,000 names moved them all, ~0.3 ms a removal, so a
// lifetime sweep of 10,000 held the event loop for seconds; issue 14).

const BLOCK = 512;

/**
 * Byte order of the UTF-8 encodings without encoding: UTF-16 code units compare like code points
 * (hence like UTF-8 bytes) except that surrogates (U+D800-DFFF, the halves of U+10000 and above)
 * must sort after U+E000-FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x += x <= 0xdfff ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y <= 0xdfff ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

export class SortedNames {
  private blocks: string[][] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds a name (no-op when present). */
  add(name: string): void {
    if (this.blocks.length === 0) {
      this.blocks.push([name]);
      this.count = 1;
      return;
    }
    // the first block whose last name is >= name, or the last block
    const b = Math.min(this.blockFor(name), this.blocks.length - 1);
    const block = this.blocks[b]!;
    const i = lowerBound(block, name);
    if (block[i] === name) return;
    block.splice(i, 0, name);
    this.count++;
    if (block.length > BLOCK) this.blocks.splice(b + 1, 0, block.splice(BLOCK >> 1));
  }

  /** Removes a name; false when it was not there. */
  delete(name: string): boolean {
    const b = this.blockFor(name);
    const block = this.blocks[b];
    if (!block) return false;
    const i = lowerBound(block, name);
    if (block[i] !== name) return false;
    block.splice(i, 1);
    this.count--;
    if (block.length === 0) this.blocks.splice(b, 1);
    return true;
  }

  /** Up to `limit` names that sort strictly after `after` (from the first when undefined). */
  after(after: string | undefined, limit: number): string[] {
    const out: string[] = [];
    let b = after === undefined ? 0 : this.blockFor(after);
    let i = after === undefined || !this.blocks[b] ? 0 : upperBound(this.blocks[b]!, after);
    for (; b < this.blocks.length && out.length < limit; b++, i = 0) {
      const block = this.blocks[b]!;
      for (; i < block.length && out.length < limit; i++) out.push(block[i]!);
    }
    return out;
  }

  /** The first block whose last name is >= name (blocks.length when none). */
  private blockFor(name: string): number {
    let lo = 0;
    let hi = this.blocks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const block = this.blocks[mid]!;
      if (compareUtf8(block[block.length - 1]!, name) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function lowerBound(a: readonly string[], name: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareUtf8(a[mid]!, name) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: readonly string[], name: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareUtf8(a[mid]!, name) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
