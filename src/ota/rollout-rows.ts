// The rows of a running deployment, in memory beside its header: the header's counts per state
// follow each row that changes (no scan of 100,000 rows per device), and the rows that changed are
// marked dirty so that a write carries only them (issue 14).
import type { RowPage } from '../store/row-table.ts';
import { RowTable } from '../store/row-table.ts';
import type { Deployment, DeviceRollout, DeviceRolloutState } from './deployment.ts';

export class RolloutRows {
  private readonly table = new RowTable();
  /** the state each row is counted under in header.counts */
  private readonly counted = new Map<string, DeviceRolloutState>();
  /** endpoints whose rows changed since they were last handed to a write */
  private readonly dirty = new Set<string>();

  /** `header`'s counts and total are rebuilt from the rows added here. */
  constructor(readonly header: Deployment) {
    header.counts = {};
    header.total = 0;
  }

  get size(): number {
    return this.table.size;
  }

  get dirtyCount(): number {
    return this.dirty.size;
  }

  get(endpoint: string): DeviceRollout | undefined {
    return this.table.get(endpoint);
  }

  values(): IterableIterator<DeviceRollout> {
    return this.table.values();
  }

  /** Rows of a page, copied (the engine goes on changing its own). */
  page(after: string | undefined, limit: number): RowPage {
    const p = this.table.page(after, limit);
    return { ...p, rows: p.rows.map((r) => structuredClone(r)) };
  }

  /** Adds a row (a deployment created or resumed); `dirty`: it is yet to be written. */
  add(r: DeviceRollout, dirty: boolean): void {
    if (!this.table.get(r.endpoint)) this.header.total++;
    this.table.put(r);
    this.touch(r, dirty);
  }

  /** A row changed: its count follows its state, and the next write carries it. */
  touch(r: DeviceRollout, dirty = true): void {
    const was = this.counted.get(r.endpoint);
    if (was !== r.state) {
      if (was !== undefined) {
        const left = (this.header.counts[was] ?? 1) - 1;
        if (left > 0) this.header.counts[was] = left;
        else delete this.header.counts[was]; // counts name the states rows are in, no zeros
      }
      this.header.counts[r.state] = (this.header.counts[r.state] ?? 0) + 1;
      this.counted.set(r.endpoint, r.state);
    }
    if (dirty) this.dirty.add(r.endpoint);
  }

  /** Takes up to `max` changed rows for a write (the row objects themselves: the store copies them at once). */
  takeDirty(max: number): DeviceRollout[] {
    const out: DeviceRollout[] = [];
    for (const ep of this.dirty) {
      if (out.length === max) break;
      this.dirty.delete(ep);
      out.push(this.table.get(ep)!);
    }
    return out;
  }

  /** A write failed: its rows are written with a later one. */
  giveBack(rows: readonly DeviceRollout[]): void {
    for (const r of rows) this.dirty.add(r.endpoint);
  }

  /** Every row is written again (the store came back without its data). */
  markAllDirty(): void {
    for (const r of this.table.values()) this.dirty.add(r.endpoint);
  }
}
