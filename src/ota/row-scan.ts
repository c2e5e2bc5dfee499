// Rows of a deployment that match a filter (a state), found by walking its pages: at most `limit`
// matches and at most `budget` rows read per call, the event loop turning between pages, so that a
// filter that matches little in 100,000 rows never holds the loop (issue 14). `next` says where to
// go on: the last row read, also when the budget ran out before the page was full.
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ROW_BATCH, type RowPage } from '../store/row-table.ts';
import type { DeviceRollout } from './deployment.ts';

export type RowSource = (after: string | undefined, limit: number) => Promise<RowPage>;

export type ScanPage = RowPage & { /** rows read */ scanned: number };

export async function scanRows(source: RowSource, opts: { after?: string; limit: number; keep: (r: DeviceRollout) => boolean; budget: number }): Promise<ScanPage> {
  const rows: DeviceRollout[] = [];
  let after = opts.after;
  let scanned = 0;
  for (;;) {
    if (scanned > 0) await yieldToLoop();
    const page = await source(after, Math.min(ROW_BATCH, opts.budget - scanned));
    for (const [i, r] of page.rows.entries()) {
      scanned++;
      after = r.endpoint;
      if (opts.keep(r)) rows.push(r);
      // full: more may follow unless this was the very last row
      if (rows.length === opts.limit) return i === page.rows.length - 1 && page.next === undefined ? { rows, scanned } : { rows, next: after, scanned };
    }
    if (page.next === undefined || page.rows.length === 0) return { rows, scanned };
    if (scanned >= opts.budget) return { rows, next: after, scanned };
  }
}
