// Deployments in Redis, so that every node sees them and a node can take over another's rollout:
//   <prefix>:deployments              hash  id -> header JSON (small: no rows)
//   <prefix>:deployment-rows:<id>     hash  endpoint -> row JSON
//   <prefix>:deployment-order:<id>    zset  endpoints, all score 0: ZRANGEBYLEX pages them in byte order
// A write is one MULTI: the header, HSET of the changed rows, ZADD of their endpoints, so a reader
// never sees rows without their header. Pages are ZRANGEBYLEX + HMGET of one page; nothing on the
// API path reads a whole deployment's rows (no HGETALL/HVALS of 100,000 fields; issue 14).
// A deployment has one writer, the node running it (leases: src/cluster/deployment-lease.ts).
// Redis away: commands fail at once with StoreUnavailableError (the engine keeps the rows in memory
// and writes them when it is back). Redis back empty: the headers this node wrote are written again
// and the engine is told, to write its running deployments' rows again (issue 14 §2); rows of
// finished deployments are not kept in memory and are lost with Redis's data.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { countRows, type Deployment, type DeviceRollout } from '../ota/deployment.ts';
import type { DeploymentStore } from './deployment-store.ts';
import { RedisDataLossWatch } from './redis-data-loss-watch.ts';
import { ROW_BATCH, type RowPage } from './row-table.ts';
import { StoreUnavailableError } from './store-error.ts';

/** A record as the single-hash store of before wrote it: migrated on open. */
type OldRecord = Deployment & { devices?: Record<string, DeviceRollout> };

export class RedisDeploymentStore implements DeploymentStore {
  /** the headers this node wrote: written again when Redis comes back without them */
  private readonly written = new Map<string, string>();
  private readonly lossListeners: (() => void)[] = [];
  private watch: RedisDataLossWatch | undefined;
  private readonly headers: string;

  private constructor(private readonly redis: Redis, private readonly prefix: string, private readonly log?: Logger) {
    this.headers = `${prefix}:deployments`;
  }

  static async open(url: string, prefix = 'tinymlaas', log?: Logger): Promise<RedisDeploymentStore> {
    const redis = new Redis(url, {
      lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 2000, connectTimeout: 2000,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    redis.on('error', () => undefined); // surfaced by the failing command instead
    await redis.connect();
    const s = new RedisDeploymentStore(redis, prefix, log);
    s.watch = new RedisDataLossWatch(redis, `${prefix}:deployments:writers`, () => s.rewrite(), (e) => log?.warn({ err: e.message }, 'redis data-loss check failed'));
    await s.watch.mark();
    await s.migrate();
    return s;
  }

  private rowsKey(id: string): string {
    return `${this.prefix}:deployment-rows:${id}`;
  }

  private orderKey(id: string): string {
    return `${this.prefix}:deployment-order:${id}`;
  }

  async write(header: Deployment, rows: readonly DeviceRollout[]): Promise<void> {
    const json = JSON.stringify(header);
    this.written.set(header.id, json);
    const m = this.redis.multi().hset(this.headers, header.id, json);
    if (rows.length > 0) {
      const fields: string[] = [];
      const members: (string | number)[] = [];
      for (const r of rows) {
        fields.push(r.endpoint, JSON.stringify(r));
        members.push(0, r.endpoint);
      }
      m.hset(this.rowsKey(header.id), ...fields).zadd(this.orderKey(header.id), ...members);
    }
    await this.call('write', async () => {
      const res = await m.exec();
      const failed = res?.find(([e]) => e);
      if (!res || failed) throw failed?.[0] ?? new Error('transaction aborted');
    });
  }

  async get(id: string): Promise<Deployment | undefined> {
    const v = await this.call('get', () => this.redis.hget(this.headers, id));
    return v === null ? undefined : (JSON.parse(v) as Deployment);
  }

  async list(): Promise<Deployment[]> {
    // headers only: a few hundred bytes each
    return Object.values(await this.call('list', () => this.redis.hgetall(this.headers))).map((v) => JSON.parse(v) as Deployment);
  }

  async rows(id: string, after: string | undefined, limit: number): Promise<RowPage> {
    const eps = await this.call('rows', () => this.redis.zrangebylex(this.orderKey(id), after === undefined ? '-' : `(${after}`, '+', 'LIMIT', 0, limit + 1));
    const more = eps.length > limit;
    if (more) eps.length = limit;
    if (eps.length === 0) return { rows: [] };
    const values = await this.call('rows', () => this.redis.hmget(this.rowsKey(id), ...eps));
    const rows = values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as DeviceRollout);
    return more ? { rows, next: eps[eps.length - 1] } : { rows };
  }

  async row(id: string, endpoint: string): Promise<DeviceRollout | undefined> {
    const v = await this.call('row', () => this.redis.hget(this.rowsKey(id), endpoint));
    return v === null ? undefined : (JSON.parse(v) as DeviceRollout);
  }

  async delete(id: string): Promise<boolean> {
    this.written.delete(id);
    const res = await this.call('delete', () => this.redis.multi().hdel(this.headers, id).del(this.rowsKey(id), this.orderKey(id)).exec());
    return Number(res?.[0]?.[1] ?? 0) > 0;
  }

  onDataLoss(fn: () => void): void {
    this.lossListeners.push(fn);
  }

  /** Resolves once a re-write after a reconnect is done (tests). */
  settled(): Promise<void> {
    return this.watch?.settled() ?? Promise.resolve();
  }

  async close(): Promise<void> {
    await this.watch?.unmark().catch(() => undefined);
    this.redis.disconnect();
  }

  private async rewrite(): Promise<void> {
    const n = this.written.size;
    if (n > 0) await this.redis.hset(this.headers, Object.fromEntries(this.written));
    this.log?.warn({ rewritten: n }, 'redis came back without its data: re-wrote the deployment headers this node wrote; the engine writes its running deployments\' rows again');
    for (const fn of this.lossListeners) fn();
  }

  /**
   * Records from before the split (a whole deployment in the header hash, rows included) become a
   * header and rows, one record at a time (HSCAN), once, when a node of this version opens the store.
   */
  private async migrate(): Promise<void> {
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.hscan(this.headers, cursor, 'COUNT', 50);
      cursor = next;
      for (let i = 0; i < flat.length; i += 2) {
        if (!flat[i + 1]!.includes('"devices":')) continue;
        const old = JSON.parse(flat[i + 1]!) as OldRecord;
        if (old.devices === undefined || old.id !== flat[i]) continue;
        const { devices, ...header } = old;
        const rows = Object.values(devices);
        const counts = countRows(rows);
        for (let k = 0; k < rows.length || k === 0; k += ROW_BATCH) await this.write({ ...header, counts, total: rows.length }, rows.slice(k, k + ROW_BATCH));
        this.log?.info({ deployment: header.id, rows: rows.length }, 'deployment record split into header and rows');
      }
    } while (cursor !== '0');
    this.written.clear(); // written here by migration, not by this node's own work
  }

  private async call<R>(op: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (e) {
      throw new StoreUnavailableError(`${this.headers} (redis) ${op} failed: ${(e as Error).message}`, e);
    }
  }
}
