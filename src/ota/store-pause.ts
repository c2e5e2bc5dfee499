// Deployments pause while their store is away (issue 14 §2: "Redis outage: deployments pause, state
// kept in memory, written when Redis is back"). The deployment engine asks this gate before it
// starts a device or an attempt, reports store failures to it, and asks it whether an attempt that
// failed overlapped an outage (such a failure is the store's, not the device's: it is not counted
// against the device's retries and the attempt starts again once the store is back; the update
// flows read the device's state first, so nothing is installed twice).
//
// While closed the gate probes the store (with backoff) and opens once it answers again, after the
// store's own re-writes after a data loss are done (a device looked up before its registration
// was re-written would look unregistered).
import type { Logger } from 'pino';

export type StorePauseOptions = {
  /** true when the store answers (and has re-written what it lost); must not reject for long */
  probe: () => Promise<boolean>;
  log: Logger;
  /** first delay between probes while the store is away (doubles up to maxProbeMs) */
  probeMs?: number;
  maxProbeMs?: number;
  /** runs once the store answers again: write what was kept in memory */
  onBack?: () => void;
  /**
   * While `busy()` (a deployment runs) the store is probed this often, so an outage closes the gate
   * even when no write or attempt fails for a while (devices rebooting into a Register that the
   * store cannot take: their attempts only time out later). Default 1 s; 0 disables it.
   */
  heartbeatMs?: number;
  busy?: () => boolean;
};

export class StorePause {
  private available = true;
  /** outages seen so far: an attempt remembers it at its start to learn whether one overlapped it */
  private outages = 0;
  private downSince = 0;
  private waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private beating = false;
  private stopped = false;
  /** counters for metrics and tests */
  readonly stats = { outages: 0, pausedMs: 0, attemptsNotCounted: 0 };

  constructor(private readonly opts: StorePauseOptions) {
    const every = opts.heartbeatMs ?? 1000;
    if (every > 0 && opts.busy) {
      this.heartbeat = setInterval(() => void this.beat(), every);
      this.heartbeat.unref();
    }
  }

  /** One heartbeat probe while deployments run and the gate is open (never two at once). */
  private async beat(): Promise<void> {
    if (this.beating || !this.available || this.stopped || !this.opts.busy?.()) return;
    this.beating = true;
    try {
      const up = await this.opts.probe().catch(() => false);
      if (!up && this.available) this.storeFailed('store probe while deployments run');
    } finally {
      this.beating = false;
    }
  }

  /** closed: the store is away (never after stop(), so that no waiter loops on it) */
  get paused(): boolean {
    return !this.available && !this.stopped;
  }

  /** A mark taken when an attempt starts; see overlapped(). */
  mark(): number {
    return this.outages;
  }

  /**
   * True when the store is away now or was since `mark` was taken. Called after a failed attempt;
   * when the gate is open it probes once first, so a failure caused by an outage nobody had noticed
   * yet still counts as the outage's.
   */
  async overlapped(mark: number): Promise<boolean> {
    if (this.available && this.outages === mark && !this.stopped) {
      const up = await this.opts.probe().catch(() => false);
      if (!up) this.storeFailed('probe after a failed device attempt');
    }
    return !this.available || this.outages !== mark;
  }

  /** The store refused a call: close the gate (no new device starts) and probe until it answers. */
  storeFailed(reason: string): void {
    if (!this.available || this.stopped) return;
    this.available = false;
    this.outages++;
    this.stats.outages++;
    this.downSince = Date.now();
    this.opts.log.warn({ reason }, 'deployment store unavailable: deployments paused (no new device starts; state kept in memory)');
    this.schedule(this.opts.probeMs ?? 250);
  }

  /** Resolves at once when the store is available, else when it is back (or the signal aborts, or stop()). */
  whenAvailable(signal?: AbortSignal): Promise<void> {
    if (this.available || this.stopped || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Releases every waiter and stops probing (the engine stops). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    this.release();
  }

  private schedule(delay: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tryAgain(delay), delay);
    this.timer.unref();
  }

  private async tryAgain(delay: number): Promise<void> {
    if (this.stopped || this.available) return;
    const up = await this.opts.probe().catch(() => false);
    if (this.stopped) return;
    if (!up) {
      this.schedule(Math.min(delay * 2, this.opts.maxProbeMs ?? 2000));
      return;
    }
    const downMs = Date.now() - this.downSince;
    this.stats.pausedMs += downMs;
    this.available = true;
    this.opts.log.info({ downMs }, 'deployment store available again: deployments resume');
    this.opts.onBack?.();
    this.release();
  }

  private release(): void {
    for (const w of [...this.waiters]) w();
  }
}
