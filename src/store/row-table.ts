// A deployment's per-device rows in memory, by endpoint and in UTF-8 byte order (the order Redis
// ZRANGEBYLEX pages in, so every store pages alike): a page is a binary search and a slice, never
// a walk of all rows. Rows arrive in order when a deployment is created (target endpoints are
// resolved in byte order), so the order stays sorted without sorting; a row out of order only
// marks it for one sort before the next page.
import type { DeviceRollout } from '../ota/deployment.ts';
import { compareUtf8 } from './sorted-names.ts';

/** Rows per store call: the size of a write batch and of a read page on internal walks. */
export const ROW_BATCH = 1000;

export type RowPage = {
  rows: DeviceRollout[];
  /** the endpoint to page on after (exclusive); absent on the last page */
  next?: string;
};

export class RowTable {
  private readonly byEndpoint = new Map<string, DeviceRollout>();
  private readonly order: string[] = [];
  private sorted = true;

  get size(): number {
    return this.byEndpoint.size;
  }

  get(endpoint: string): DeviceRollout | undefined {
    return this.byEndpoint.get(endpoint);
  }

  /** Adds or replaces a row (the object itself is kept: callers clone when they must). */
  put(row: DeviceRollout): void {
    if (!this.byEndpoint.has(row.endpoint)) {
      const last = this.order[this.order.length - 1];
      if (last !== undefined && compareUtf8(last, row.endpoint) >= 0) this.sorted = false;
      this.order.push(row.endpoint);
    }
    this.byEndpoint.set(row.endpoint, row);
  }

  /** Up to `limit` rows after `after` (exclusive), in byte order. */
  page(after: string | undefined, limit: number): RowPage {
    if (!this.sorted) {
      this.order.sort(compareUtf8);
      this.sorted = true;
    }
    const start = after === undefined ? 0 : upperBound(this.order, after);
    const end = Math.min(this.order.length, start + limit);
    const rows: DeviceRollout[] = [];
    for (let i = start; i < end; i++) rows.push(this.byEndpoint.get(this.order[i]!)!);
    return end < this.order.length && rows.length > 0 ? { rows, next: this.order[end - 1] } : { rows };
  }

  values(): IterableIterator<DeviceRollout> {
    return this.byEndpoint.values();
  }
}

/** Index of the first name > name. */
function upperBound(names: readonly string[], name: string): number {
  let lo = 0;
  let hi = names.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareUtf8(names[mid]!, name) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
