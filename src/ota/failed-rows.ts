// The failed devices of some deployments, for the fleet views (GET /ml/status, /firmware/status):
// only deployments whose counts show failures are read, a page at a time with the state filter
// (row-scan.ts), up to `max` rows and `budget` rows read in all, never every row of every deployment.
import type { RowPage } from '../store/row-table.ts';
import type { Deployment, DeviceRollout } from './deployment.ts';
import { scanRows } from './row-scan.ts';

export async function failedRows(
  rows: (id: string, after: string | undefined, limit: number) => Promise<RowPage>, deployments: readonly Deployment[], max: number, budget = 100_000,
): Promise<{ deployment: Deployment; row: DeviceRollout }[]> {
  const out: { deployment: Deployment; row: DeviceRollout }[] = [];
  let left = budget;
  for (const d of deployments) {
    const failed = d.counts.failed ?? 0;
    if (failed === 0) continue;
    if (out.length >= max || left <= 0) break;
    let after: string | undefined;
    let found = 0;
    // until this deployment's failures are all found, the list is full or the budget spent
    while (found < failed && out.length < max && left > 0) {
      const page = await scanRows((a, n) => rows(d.id, a, n), { after, limit: Math.min(max - out.length, failed - found), keep: (r) => r.state === 'failed', budget: Math.min(left, 10_000) });
      for (const row of page.rows) out.push({ deployment: d, row });
      found += page.rows.length;
      left -= page.scanned;
      if (page.next === undefined) break;
      after = page.next;
    }
  }
  return out;
}
