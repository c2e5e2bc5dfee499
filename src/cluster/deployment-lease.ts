// Deployment ownership by lease in Redis (issue 14 §3): the node running a deployment holds the key
// <prefix>lease:deployment:<id> = <node id> with a TTL and renews it; when the node dies the key
// expires and another node may take the deployment over. A small module the deployment engine (or
// the takeover loop beside it, deployment-takeover.ts) calls: acquire, renew, release, owner.
// Each change is one atomic Redis command or script, so two nodes never both believe they hold it.
import { Redis } from 'ioredis';

// KEYS: lease   ARGV: node, ttlMs — extends the lease only while this node holds it
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

// KEYS: lease   ARGV: node — deletes the lease only while this node holds it
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type LeaseScripts = {
  leaseRenew(key: string, node: string, ttlMs: number): Promise<number>;
  leaseRelease(key: string, node: string): Promise<number>;
};

export type DeploymentLeaseOptions = {
  nodeId: string;
  /** how long a lease lives without renewal: a dead node's deployments wait at most this long */
  ttlMs?: number;
  keyPrefix?: string;
};

export class DeploymentLeases {
  readonly ttlMs: number;
  private readonly prefix: string;

  constructor(private readonly redis: Redis, private readonly opts: DeploymentLeaseOptions) {
    this.ttlMs = opts.ttlMs ?? 15_000;
    this.prefix = `${opts.keyPrefix ?? 'lwm2m:'}lease:deployment:`;
    if (!('leaseRenew' in redis)) {
      redis.defineCommand('leaseRenew', { numberOfKeys: 1, lua: RENEW });
      redis.defineCommand('leaseRelease', { numberOfKeys: 1, lua: RELEASE });
    }
  }

  /** Its own connection (commands fail fast while Redis is away; the loop tries again). */
  static connect(url: string, opts: DeploymentLeaseOptions): DeploymentLeases {
    const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 2000, connectTimeout: 2000, retryStrategy: (n) => Math.min(n * 200, 2000) });
    redis.on('error', () => undefined); // surfaced by the failing command
    return new DeploymentLeases(redis, opts);
  }

  close(): void {
    this.redis.disconnect();
  }

  private get scripts(): LeaseScripts {
    return this.redis as unknown as LeaseScripts;
  }

  /** Takes the lease when nobody holds it, or renews it when this node does. True when held now. */
  async acquire(deploymentId: string): Promise<boolean> {
    const key = this.prefix + deploymentId;
    if ((await this.redis.set(key, this.opts.nodeId, 'PX', this.ttlMs, 'NX')) === 'OK') return true;
    return this.renew(deploymentId);
  }

  /** Extends the lease; false when this node does not hold it (it expired, or another node took it). */
  async renew(deploymentId: string): Promise<boolean> {
    return (await this.scripts.leaseRenew(this.prefix + deploymentId, this.opts.nodeId, this.ttlMs)) === 1;
  }

  /** Gives the lease up (the deployment finished, or this node stops cleanly). */
  async release(deploymentId: string): Promise<boolean> {
    return (await this.scripts.leaseRelease(this.prefix + deploymentId, this.opts.nodeId)) === 1;
  }

  /** The node holding the lease, undefined when nobody does. */
  async owner(deploymentId: string): Promise<string | undefined> {
    return (await this.redis.get(this.prefix + deploymentId)) ?? undefined;
  }
}
