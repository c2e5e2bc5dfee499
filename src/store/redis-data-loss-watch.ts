// Notices that Redis came back without its data (a restart without persistence, a fail-over to an
// empty replica): each store connection leaves a marker field, and after every reconnect checks
// that it is still there. When it is not, everything this node wrote is gone and `onLost` runs
// (the stores re-write what they hold in memory; issue 14 §2).
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export class RedisDataLossWatch {
  private readonly field = `${process.pid}-${randomBytes(6).toString('hex')}`;
  private disconnected = false;
  private checking: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: Redis, private readonly key: string, private readonly onLost: () => Promise<void>, private readonly onError: (e: Error) => void,
    /** Redis is back with its data: writes that failed while it was away can go now */
    private readonly onBack?: () => Promise<void>,
  ) {
    redis.on('close', () => (this.disconnected = true));
    redis.on('ready', () => {
      if (!this.disconnected) return;
      this.disconnected = false;
      this.checking = this.checking.then(() => this.check()).catch((e: unknown) => this.onError(e as Error));
    });
  }

  /** Leaves the marker (after connecting). */
  async mark(): Promise<void> {
    await this.redis.hset(this.key, this.field, String(Date.now()));
  }

  /** Removes the marker (on a clean close). */
  async unmark(): Promise<void> {
    await this.redis.hdel(this.key, this.field);
  }

  /** Resolves when the check after the last reconnect (and a re-write it started) is done. */
  settled(): Promise<void> {
    return this.checking;
  }

  private async check(): Promise<void> {
    if ((await this.redis.hexists(this.key, this.field)) === 1) {
      await this.onBack?.();
      return;
    }
    await this.onLost();
    await this.mark();
  }
}
