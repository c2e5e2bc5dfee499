// The primary of `--workers N` (docs/cluster.md, "Several workers on one machine"): it serves no
// device itself. It forks N workers (src/cluster/worker-node.ts), each a full node sharing the
// Redis store; the cluster module binds the CoAP UDP socket here and hands every worker the handle,
// and accepts HTTP connections here and passes them round-robin. The primary keeps the relay table
// (which worker's loopback relay socket serves which slot) and sends it to every worker whenever it
// changes; it re-forks a worker that dies, into the same slot and node id, and drains them all on
// SIGTERM/SIGINT.
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { AffinityStats } from '../coap/affinity-transport.ts';
import { isWorkerMessage, WORKER_ENV, type PrimaryToWorker, type WorkerToPrimary } from './worker-messages.ts';

export type WorkerPoolOptions = {
  workers: number;
  /** the workers are `<nodeId>-w<slot>` */
  nodeId: string;
  log: Logger;
  /** how long a worker may take to drain after SIGTERM before it is killed (its own --shutdown-timeout, plus margin) */
  stopTimeoutMs: number;
};

export type ReadyInfo = { coap: { address: string; port: number }; http: string };

/** a worker that dies this soon after its start is restarted after a growing delay, not at once */
const QUICK_DEATH_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;

export class WorkerPool {
  private readonly workers: (Worker | undefined)[];
  private readonly relays: (number | null)[];
  private readonly startedAt: number[];
  private readonly everReady: boolean[];
  private readonly restartDelay: number[];
  private stopping = false;
  private failedExit = false;
  private restarts = 0;
  private onAllReady?: (info: ReadyInfo) => void;
  private onStartFailed?: (e: Error) => void;

  private constructor(private readonly opts: WorkerPoolOptions) {
    const n = opts.workers;
    this.workers = new Array<Worker | undefined>(n).fill(undefined);
    this.relays = new Array<number | null>(n).fill(null);
    this.startedAt = new Array<number>(n).fill(0);
    this.everReady = new Array<boolean>(n).fill(false);
    this.restartDelay = new Array<number>(n).fill(0);
  }

  /**
   * Forks worker 0, then the others once it serves: what a first start creates once (the first admin
   * token, a signing key in the data dir) is made by one worker and found by the rest. Resolves
   * once all serve CoAP and HTTP, rejects when one dies before.
   */
  static async start(opts: WorkerPoolOptions): Promise<{ pool: WorkerPool; ready: ReadyInfo }> {
    const pool = new WorkerPool(opts);
    const ready = await new Promise<ReadyInfo>((resolve, reject) => {
      pool.onAllReady = resolve;
      pool.onStartFailed = reject;
      pool.fork(0);
    });
    return { pool, ready };
  }

  get restartCount(): number {
    return this.restarts;
  }

  /** Relay counters of every running worker (a worker that does not answer within 2 s is left out). */
  async affinityStats(): Promise<AffinityStats[]> {
    const live = this.workers.filter((w): w is Worker => w !== undefined && w.isConnected());
    return (await Promise.all(live.map((w) => new Promise<AffinityStats | undefined>((resolve) => {
      const timer = setTimeout(() => done(undefined), 2000);
      const onMessage = (m: unknown): void => {
        if (isWorkerMessage(m) && m.type === 'stats') done(m.affinity);
      };
      const done = (s: AffinityStats | undefined): void => {
        clearTimeout(timer);
        w.off('message', onMessage);
        resolve(s);
      };
      w.on('message', onMessage);
      this.post(w, { type: 'stats' });
    })))).filter((s): s is AffinityStats => s !== undefined);
  }

  /**
   * SIGTERM to every worker: each drains as a single node does (--shutdown-timeout). Resolves with
   * the exit code for the primary: 1 when a worker was cut off or had to be killed.
   */
  async stop(): Promise<number> {
    this.stopping = true;
    const live = this.workers.filter((w): w is Worker => w !== undefined && !w.isDead());
    await Promise.all(live.map((w) => new Promise<void>((resolve) => {
      if (w.isDead()) return resolve();
      const kill = setTimeout(() => {
        this.opts.log.error({ pid: w.process.pid }, 'worker did not stop in time: killed');
        this.failedExit = true;
        w.process.kill('SIGKILL');
      }, this.opts.stopTimeoutMs);
      w.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      w.process.kill('SIGTERM');
    })));
    return this.failedExit ? 1 : 0;
  }

  private fork(slot: number): void {
    const nodeId = `${this.opts.nodeId}-w${slot}`;
    const worker = cluster.fork({ [WORKER_ENV.slot]: String(slot), [WORKER_ENV.slots]: String(this.opts.workers), [WORKER_ENV.nodeId]: nodeId });
    this.workers[slot] = worker;
    this.startedAt[slot] = Date.now();
    worker.on('message', (m: unknown) => {
      if (isWorkerMessage(m)) this.onMessage(slot, worker, m);
    });
    worker.once('exit', (code, signal) => this.onExit(slot, worker, code, signal));
  }

  private onMessage(slot: number, worker: Worker, m: WorkerToPrimary): void {
    if (this.workers[slot] !== worker) return;
    if (m.type === 'relay' && Number.isInteger(m.port) && m.port > 0 && m.port < 65536) {
      this.relays[slot] = m.port;
      this.broadcastRelays();
    } else if (m.type === 'ready') {
      const first = !this.everReady[slot];
      this.everReady[slot] = true;
      this.opts.log.info({ slot, node: `${this.opts.nodeId}-w${slot}`, pid: worker.process.pid }, 'worker ready');
      if (slot === 0 && first && this.onAllReady) for (let s = 1; s < this.opts.workers; s++) this.fork(s);
      if (this.onAllReady && this.everReady.every(Boolean)) {
        const resolve = this.onAllReady;
        this.onAllReady = undefined;
        this.onStartFailed = undefined;
        resolve({ coap: m.coap, http: m.http });
      }
    }
  }

  private onExit(slot: number, worker: Worker, code: number | null, signal: string | null): void {
    if (this.workers[slot] !== worker) return;
    this.workers[slot] = undefined;
    this.relays[slot] = null;
    // the other workers drop this slot's datagrams until it is back (devices retransmit)
    this.broadcastRelays();
    if (this.stopping) {
      if (code !== 0) this.failedExit = true;
      return;
    }
    if (!this.everReady[slot] && this.onStartFailed) {
      // a worker that cannot start (Redis unreachable, port taken) would fail again: give up
      const fail = this.onStartFailed;
      this.onStartFailed = undefined;
      this.onAllReady = undefined;
      this.stopping = true;
      for (const w of this.workers) w?.process.kill('SIGTERM');
      fail(new Error(`worker ${slot} exited (${signal ?? `code ${code}`}) before it was ready`));
      return;
    }
    const lived = Date.now() - this.startedAt[slot]!;
    this.restartDelay[slot] = lived < QUICK_DEATH_MS ? Math.min(MAX_RESTART_DELAY_MS, Math.max(500, this.restartDelay[slot]! * 2)) : 0;
    this.opts.log.error({ slot, pid: worker.process.pid, code, signal, restartInMs: this.restartDelay[slot] }, 'worker died: restarting it');
    this.restarts++;
    setTimeout(() => {
      if (!this.stopping) this.fork(slot);
    }, this.restartDelay[slot]);
  }

  private broadcastRelays(): void {
    const m: PrimaryToWorker = { type: 'relays', ports: [...this.relays] };
    for (const w of this.workers) if (w) this.post(w, m);
  }

  private post(w: Worker, m: PrimaryToWorker): void {
    // a worker that is exiting has closed its channel: its exit event follows
    if (w.isConnected()) w.send(m, undefined, () => undefined);
  }
}
