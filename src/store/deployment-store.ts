// Where deployments live: memory by default, JSON files to survive restarts (so a rollout
// resumes), or Redis so that every node of a cluster sees them. A deployment is a small header
// (everything but the rows, with its counts per state) and its per-device rows, stored apart: a
// write carries the header and only the rows that changed, rows are read a page at a time in
// endpoint byte order, never all 100,000 of a whole-fleet rollout at once (issue 14).
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Deployment, DeviceRollout } from '../ota/deployment.ts';
import { JsonDeploymentStore } from './json-deployment-store.ts';
import { ROW_BATCH, type RowPage } from './row-table.ts';

export { ROW_BATCH, type RowPage } from './row-table.ts';

export type DeploymentStore = {
  /** Writes the header and these rows (the changed ones) together; rows not given are left as they are. */
  write(header: Deployment, rows: readonly DeviceRollout[]): Promise<void>;
  get(id: string): Promise<Deployment | undefined>;
  /** Every header (never rows). */
  list(): Promise<Deployment[]>;
  /** Up to `limit` rows after the endpoint `after` (exclusive), in endpoint byte order. */
  rows(id: string, after: string | undefined, limit: number): Promise<RowPage>;
  row(id: string, endpoint: string): Promise<DeviceRollout | undefined>;
  /** Removes a deployment and its rows; true when there was one. */
  delete(id: string): Promise<boolean>;
  /**
   * The store came back without its data (Redis restarted empty): `fn` runs after the store wrote
   * the headers it holds again, so that the engine writes the rows of its running deployments again.
   */
  onDataLoss?(fn: () => void): void;
  close?(): Promise<void>;
};

/** Memory when `file` is absent; else the header file `file` beside its row journal `file`.rows. */
export async function openDeploymentStore(file?: string): Promise<DeploymentStore> {
  return file ? JsonDeploymentStore.open(file) : JsonDeploymentStore.memory();
}

/** Every row of a deployment, a page per store call and a turn of the event loop between pages. */
export async function* allRows(store: Pick<DeploymentStore, 'rows'>, id: string): AsyncGenerator<DeviceRollout> {
  let after: string | undefined;
  for (;;) {
    const page = await store.rows(id, after, ROW_BATCH);
    yield* page.rows;
    if (page.next === undefined) return;
    after = page.next;
    await yieldToLoop();
  }
}
