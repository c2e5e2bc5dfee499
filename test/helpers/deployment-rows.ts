// A deployment's rows read back from a store, keyed by endpoint (tests with a handful of devices).
import type { DeviceRollout } from '../../src/ota/deployment.ts';
import { allRows, type DeploymentStore } from '../../src/store/deployment-store.ts';

export async function storedRows(store: Pick<DeploymentStore, 'rows'>, id: string): Promise<Record<string, DeviceRollout>> {
  const out: Record<string, DeviceRollout> = {};
  for await (const r of allRows(store, id)) out[r.endpoint] = r;
  return out;
}
