// Running deployments survive their node (issue 14 §3). Every node runs this loop over the shared
// deployment store:
//   - for its own running deployments (Deployment.node = this node) it holds and renews the lease;
//   - a running deployment of another node whose lease has been missing for a whole lease period
//     (its node is dead, or stopped renewing) is taken: the lease first (atomic), then
//     Deployment.node is rewritten to this node and `resume` is called, which continues device by
//     device with the ones not finished (completed devices are never repeated).
// Waiting a full period before a take-over gives a live node time to renew after a Redis hiccup.
import type { Logger } from 'pino';
import type { DeploymentStore } from '../store/deployment-store.ts';
import type { DeploymentLeases } from './deployment-lease.ts';

export type TakeoverOptions = {
  nodeId: string;
  leases: DeploymentLeases;
  store: DeploymentStore;
  /** picks up the running deployments whose node is this one (DeploymentEngine.resume) */
  resume: () => Promise<number>;
  log: Logger;
  /** how often the loop runs (default: a third of the lease period) */
  intervalMs?: number;
};

export type TakeoverStats = { renewed: number; takenOver: number; lost: number };

export class DeploymentTakeover {
  readonly stats: TakeoverStats = { renewed: 0, takenOver: 0, lost: 0 };
  /** deployments of other nodes seen without a lease, and since when */
  private readonly orphanSince = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: TakeoverOptions) {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.tick()).catch((e: unknown) => opts.log.warn({ err: (e as Error).message }, 'deployment lease check failed'));
    }, opts.intervalMs ?? Math.max(100, Math.floor(opts.leases.ttlMs / 3)));
    this.timer.unref();
  }

  /** One pass (also run by the timer): renew own leases, take over orphans. */
  async tick(now = Date.now()): Promise<void> {
    if (this.stopped) return;
    const { nodeId, leases, store, log } = this.opts;
    let took = false;
    const seen = new Set<string>();
    // headers only: the rows stay where they are, and resume() reads them a page at a time
    for (const d of await store.list()) {
      if (d.status !== 'running') continue;
      seen.add(d.id);
      if (d.node === nodeId || d.node === undefined) {
        if (await leases.acquire(d.id)) this.stats.renewed++;
        else {
          this.stats.lost++;
          log.error({ deployment: d.id, owner: await leases.owner(d.id) }, 'lease of a deployment this node runs is held by another node');
        }
        continue;
      }
      if ((await leases.owner(d.id)) !== undefined) {
        this.orphanSince.delete(d.id);
        continue;
      }
      const since = this.orphanSince.get(d.id) ?? now;
      this.orphanSince.set(d.id, since);
      if (now - since < leases.ttlMs) continue;
      if (!(await leases.acquire(d.id))) continue; // another node was quicker
      this.orphanSince.delete(d.id);
      const previous = d.node;
      await store.write({ ...d, node: nodeId }, []);
      this.stats.takenOver++;
      took = true;
      log.warn({ deployment: d.id, from: previous }, 'took over a running deployment whose node stopped renewing its lease');
    }
    for (const id of this.orphanSince.keys()) if (!seen.has(id)) this.orphanSince.delete(id);
    if (took) await this.opts.resume();
  }

  /** Stops the loop and releases this node's leases (a clean stop hands deployments over at once). */
  async stop(releaseIds: readonly string[] = []): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    for (const id of releaseIds) await this.opts.leases.release(id).catch(() => false);
  }
}
