// Runs deployments: resolves the target devices, updates them in waves (canary first) with
// bounded parallelism, a per-device timeout and retries, aborts when the failure rate passes the
// policy's threshold, persists every state change and resumes running deployments after a restart.
// The running deployment lives in memory, its header beside its rows (rollout-rows.ts): a write
// carries the header and the rows that changed, a batch at a time, so a 100,000-device rollout never
// copies or writes all its rows per change (issue 14). A store that fails (Redis down) delays its
// writes, which are retried until they land, and pauses the rollout until it is back
// (store-pause.ts): no store error ever escapes as an unhandled rejection, and none is counted
// against a device's retries.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { LwM2mServer } from '../server.ts';
import { allRows, ROW_BATCH, type DeploymentStore, type RowPage } from '../store/deployment-store.ts';
import { FlowError, readValue } from './device-calls.ts';
import { countStates, defaultPolicy, progressOf, TERMINAL, type Deployment, type DeviceRollout, type RolloutPolicy, type TargetSelector } from './deployment.ts';
import { RolloutRows } from './rollout-rows.ts';
import { onEndpointEvent } from './endpoint-signals.ts';
import { runFirmwareUpdate, settleFirmwareAfterFailure } from './firmware-update.ts';
import type { PackageKind } from './package-catalog.ts';
import type { PackageRepository } from './package-repository.ts';
import { runSoftwareUpdate, settleSoftwareAfterFailure } from './software-update.ts';
import { StorePause } from './store-pause.ts';
import { resolveTargets } from './target-resolver.ts';
import { activeModelDigest, type FlowContext, type FlowResult, type UpdateMethod } from './update-flow.ts';

export type DeploymentRequest = {
  moduleDigest: string;
  moduleName?: string;
  /** default 'ml-module' */
  packageKind?: PackageKind;
  packageVersion?: string;
  method: UpdateMethod;
  selector: TargetSelector;
  policy?: Partial<RolloutPolicy>;
};

export type DeploymentEngineDeps = {
  server: LwM2mServer;
  repo: PackageRepository;
  store: DeploymentStore;
  log: Logger;
  packageUri: (digest: string, endpoint: string) => Promise<string>;
  /** read fallback period while following a device's update state */
  pollMs?: number;
  /** this node's id when the store is shared: a node resumes only its own deployments */
  nodeId?: string;
  /** first delay before a failed store write is tried again (doubles up to 5 s) */
  storeRetryMs?: number;
  /**
   * true when the stores the flows need answer again (registrations included); the engine pauses
   * while they do not (store-pause.ts). Default: a read of the deployment store.
   */
  storeProbe?: () => Promise<boolean>;
};

/**
 * Failures another attempt with the same package cannot fix: the device judged the package
 * (integrity, type, size, URI, protocol; Object 5 Results 2, 5, 6, 7, 8, 9; Object 9 Results 50,
 * 53, 54, 56, 58) or cannot take it at all. They end the device's update at once, retries or not;
 * a lost connection (4, 52), lack of RAM (3, 51) or a timeout are worth another attempt.
 */
const FINAL_CODES: ReadonlySet<string> = new Set([
  'FW_RESULT_2', 'FW_RESULT_5', 'FW_RESULT_6', 'FW_RESULT_7', 'FW_RESULT_8', 'FW_RESULT_9',
  'SW_RESULT_50', 'SW_RESULT_53', 'SW_RESULT_54', 'SW_RESULT_56', 'SW_RESULT_58',
  'BAD_STATE', 'BAD_RESULT', 'VERSION_MISMATCH', 'DELIVERY_UNSUPPORTED', 'NO_FIRMWARE_UPDATE',
]);

/** The device did not answer (or is not there): nothing to reset on it. */
const SILENT_CODES: ReadonlySet<string> = new Set(['TIMEOUT', 'DEVICE_TIMEOUT', 'DEVICE_NOT_FOUND']);

/** Longest wait between two tries of a store write that failed. */
const MAX_STORE_RETRY_MS = 5000;

/** Rows touched per turn of the event loop when a whole deployment's rows are walked (create, abort). */
const ROWS_PER_TURN = 2 * ROW_BATCH;

/** A copy of a header to hand out (selector and policy are never changed in place: shared). */
function headerCopy(d: Deployment): Deployment {
  return { ...d, counts: { ...d.counts } };
}

/** Abort reason when the server stops: the deployment stays 'running' and resumes at the next start. */
const STOPPING = 'server stopping';

export class DeploymentError extends Error {
  constructor(readonly code: 'NOT_FOUND' | 'NO_PACKAGE' | 'NO_TARGETS' | 'BAD_POLICY' | 'NOT_RUNNING', message: string) {
    super(message);
  }
}

export class DeploymentEngine {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void>; rows: RolloutRows }>();
  /** deployments being read back by resume(): a second resume() leaves them alone */
  private readonly resuming = new Set<string>();
  /** one write loop per deployment: `again` asks it for one more write of the latest state */
  private readonly writes = new Map<string, { again: boolean; loop: Promise<void> }>();
  private stopping = false;
  /** closed while the store is away: no device starts, failed attempts are not counted */
  readonly pause: StorePause;

  constructor(private readonly deps: DeploymentEngineDeps) {
    this.pause = new StorePause({
      log: deps.log,
      probe: deps.storeProbe ?? (async () => (await deps.store.get('\u0000probe'), true)),
      busy: () => this.running.size > 0,
      // back: write at once what was kept in memory (the store may have come back empty)
      onBack: () => {
        for (const r of this.running.values()) void this.persist(r.rows);
      },
    });
    // the store came back empty: the running deployments' rows are written again, every one
    deps.store.onDataLoss?.(() => {
      for (const r of this.running.values()) {
        r.rows.markAllDirty();
        void this.persist(r.rows);
      }
    });
  }

  /**
   * Writes the deployment's header and changed rows (a batch of rows per write, the event loop
   * turning between batches); never rejects. A failed write is retried with backoff until it lands
   * (the rows stay dirty in memory meanwhile), and later changes are coalesced into the next write.
   * Resolves once the latest state is stored, or the engine stops.
   */
  private persist(rows: RolloutRows): Promise<void> {
    const d = rows.header;
    const w = this.writes.get(d.id);
    if (w) {
      w.again = true;
      return w.loop;
    }
    const state = { again: true, loop: Promise.resolve() };
    state.loop = (async () => {
      let delay = this.deps.storeRetryMs ?? 250;
      let failedSince: number | undefined;
      while (state.again) {
        state.again = false;
        const batch = rows.takeDirty(ROW_BATCH);
        try {
          await this.deps.store.write(d, batch);
          if (failedSince !== undefined) this.deps.log.info({ deployment: d.id, downMs: Date.now() - failedSince }, 'deployment state written again after store errors');
          failedSince = undefined;
          if (rows.dirtyCount > 0) {
            state.again = true;
            await yieldToLoop();
          }
        } catch (e) {
          rows.giveBack(batch);
          if (failedSince === undefined) {
            failedSince = Date.now();
            this.deps.log.warn({ deployment: d.id, err: (e as Error).message }, 'deployment store write failed: state kept in memory, retrying');
          }
          if (this.stopping) return;
          this.pause.storeFailed((e as Error).message);
          state.again = true;
          // the next try when the store is back, or after the backoff, whichever comes first
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([new Promise((r) => (timer = setTimeout(r, delay))), this.pause.whenAvailable()]);
          clearTimeout(timer);
          delay = Math.min(delay * 2, MAX_STORE_RETRY_MS);
        }
      }
    })().finally(() => {
      if (this.writes.get(d.id) === state) this.writes.delete(d.id);
    });
    this.writes.set(d.id, state);
    return state.loop;
  }

  async create(req: DeploymentRequest): Promise<Deployment> {
    const policy: RolloutPolicy = { ...defaultPolicy, ...req.policy };
    if (policy.maxParallel < 1 || policy.batchSize < 1 || policy.deviceTimeoutMs < 1000 || policy.abortFailureRate < 0 || policy.abortFailureRate > 1) {
      throw new DeploymentError('BAD_POLICY', 'maxParallel and batchSize must be >= 1, deviceTimeoutMs >= 1000, abortFailureRate in 0..1');
    }
    if (!(await this.deps.repo.has(req.moduleDigest))) throw new DeploymentError('NO_PACKAGE', `no package ${req.moduleDigest}`);
    const endpoints = await this.resolve(req.selector);
    if (endpoints.length === 0) throw new DeploymentError('NO_TARGETS', 'the selector matches no registered device');
    const d: Deployment = {
      id: randomBytes(6).toString('hex'), moduleDigest: req.moduleDigest, moduleName: req.moduleName, method: req.method,
      packageKind: req.packageKind ?? 'ml-module', ...(req.packageVersion !== undefined ? { packageVersion: req.packageVersion } : {}),
      selector: req.selector, policy, status: 'running', createdAt: Date.now(), node: this.deps.nodeId, counts: {}, total: 0,
    };
    // a whole fleet's rows are built and written in chunks, the event loop turning between them
    const rows = new RolloutRows(d);
    for (const [i, ep] of endpoints.entries()) {
      if (i > 0 && i % ROWS_PER_TURN === 0) await yieldToLoop();
      rows.add({ endpoint: ep, state: 'pending', attempts: 0 }, true);
    }
    try {
      while (rows.dirtyCount > 0) {
        await this.deps.store.write(d, rows.takeDirty(ROW_BATCH));
        if (rows.dirtyCount > 0) await yieldToLoop();
      }
    } catch (e) {
      // a half-written 'running' deployment would be resumed with part of its devices: none is left
      await this.deps.store.delete(d.id).catch(() => undefined);
      throw e;
    }
    this.emit(d);
    this.start(rows);
    return headerCopy(d);
  }

  /** A running deployment's header from memory (the store may lag behind, or be down), others from the store. */
  async get(id: string): Promise<Deployment | undefined> {
    const r = this.running.get(id);
    if (r) return headerCopy(r.rows.header);
    return this.deps.store.get(id);
  }

  /** Every header, never rows. */
  async list(): Promise<Deployment[]> {
    const stored = await this.deps.store.list();
    return stored.map((d) => (this.running.has(d.id) ? headerCopy(this.running.get(d.id)!.rows.header) : d));
  }

  /** A page of a deployment's rows in endpoint byte order: from memory while it runs here, else from the store. */
  async rows(id: string, after: string | undefined, limit: number): Promise<RowPage> {
    const r = this.running.get(id);
    if (r) return r.rows.page(after, limit);
    return this.deps.store.rows(id, after, limit);
  }

  /** One device's row. */
  async row(id: string, endpoint: string): Promise<DeviceRollout | undefined> {
    const r = this.running.get(id)?.rows.get(endpoint);
    if (r) return structuredClone(r);
    return this.running.has(id) ? undefined : this.deps.store.row(id, endpoint);
  }

  /** Running deployments of this node, from memory (no store call). */
  runningDigests(): string[] {
    return [...this.running.values()].map((r) => r.rows.header.moduleDigest);
  }

  /** Resolves when the deployment has stopped running (for tests and shutdown). */
  async settled(id: string): Promise<void> {
    await this.running.get(id)?.done;
  }

  async abort(id: string, reason = 'aborted by request'): Promise<Deployment> {
    const r = this.running.get(id);
    if (!r) {
      const d = await this.deps.store.get(id);
      if (!d) throw new DeploymentError('NOT_FOUND', `no deployment ${id}`);
      throw new DeploymentError('NOT_RUNNING', `deployment ${id} is ${d.status}`);
    }
    r.controller.abort(reason);
    await r.done;
    return headerCopy(r.rows.header);
  }

  /**
   * After a restart: picks up deployments that were running. A device whose attempt the restart
   * cut short starts again without that attempt counting against its retries (only `failures`
   * do); its flow reads the device's state first, so a package already installed is not sent again.
   */
  async resume(): Promise<number> {
    let n = 0;
    for (const d of await this.deps.store.list()) {
      if (d.status !== 'running' || this.running.has(d.id) || this.resuming.has(d.id) || d.node !== this.deps.nodeId) continue;
      this.resuming.add(d.id);
      try {
        // the rows a page at a time; the counts are rebuilt from them (they are the truth)
        const rows = new RolloutRows(d);
        for await (const r of allRows(this.deps.store, d.id)) {
          if (TERMINAL.has(r.state) || r.state === 'pending') {
            rows.add(r, false);
            continue;
          }
          this.deps.log.info({ deployment: d.id, endpoint: r.endpoint, state: r.state }, 'attempt cut short by a restart: not counted');
          r.state = 'pending';
          rows.add(r, true);
        }
        void this.persist(rows);
        this.deps.log.info({ deployment: d.id, pending: d.counts.pending ?? 0, total: d.total }, 'deployment resumed');
        this.start(rows);
        n++;
      } finally {
        this.resuming.delete(d.id);
      }
    }
    return n;
  }

  async stop(): Promise<void> {
    // from now on a failed write is not tried again: a store that is down is not waited for
    this.stopping = true;
    for (const r of this.running.values()) r.controller.abort(STOPPING);
    this.pause.stop();
    await Promise.all([...this.running.values()].map((r) => r.done));
    await Promise.all([...this.writes.values()].map((w) => w.loop));
  }

  private async resolve(sel: TargetSelector): Promise<string[]> {
    // page by page from the endpoint index, never the whole fleet at once (issue 14)
    let eps = await resolveTargets(this.deps.server.registrations.store, sel);
    if (sel.deviceModel !== undefined) {
      const keep: string[] = [];
      for (const ep of eps) {
        const model = await readValue(this.deps.server, ep, [3, 0, 1], 5_000).catch(() => undefined);
        if (typeof model === 'string' && model.includes(sel.deviceModel)) keep.push(ep);
      }
      eps = keep;
    }
    return eps;
  }

  private start(rows: RolloutRows): void {
    const d = rows.header;
    const controller = new AbortController();
    // every device in flight listens to the deployment's abort: as many listeners as maxParallel
    setMaxListeners(0, controller.signal);
    const done = this.run(rows, controller).catch((e: unknown) => {
      this.deps.log.error({ err: e, deployment: d.id }, 'deployment crashed');
    }).finally(() => this.running.delete(d.id));
    this.running.set(d.id, { controller, done, rows });
  }

  private emit(d: Deployment, r?: DeviceRollout): void {
    this.deps.server.events.emit({
      type: 'deployment', deploymentId: d.id, endpoint: r?.endpoint, state: r ? r.state : d.status,
      detail: r?.error?.message ?? d.reason, counts: countStates(d), progress: progressOf(d),
    });
  }

  private async run(rows: RolloutRows, controller: AbortController): Promise<void> {
    const d = rows.header;
    const pkg = await this.deps.repo.get(d.moduleDigest);
    // device-level changes are written in the background: a store outage delays the writes, not the
    // rollout (the flows read each device's state first, so a crash before a write repeats nothing)
    const save = async (r?: DeviceRollout): Promise<void> => {
      if (r) rows.touch(r);
      this.emit(d, r);
      void this.persist(rows);
    };
    if (!pkg) {
      d.status = 'failed';
      d.reason = `package ${d.moduleDigest} is gone from the repository`;
      d.finishedAt = Date.now();
      await save();
      return;
    }
    const pending: string[] = [];
    let seen = 0;
    for (const r of rows.values()) {
      if (r.state === 'pending') pending.push(r.endpoint);
      if (++seen % (10 * ROWS_PER_TURN) === 0) await yieldToLoop();
    }
    const waves: string[][] = [];
    let rest = pending;
    if (d.policy.canary > 0) {
      waves.push(rest.slice(0, d.policy.canary));
      rest = rest.slice(d.policy.canary);
    }
    for (let i = 0; i < rest.length; i += d.policy.batchSize) waves.push(rest.slice(i, i + d.policy.batchSize));

    const tooManyFailures = (): boolean => {
      const failed = d.counts.failed ?? 0;
      const finished = (d.counts.done ?? 0) + failed;
      return finished >= d.policy.minSample && failed / finished > d.policy.abortFailureRate;
    };
    const abortWith = (reason: string): void => {
      if (!controller.signal.aborted) controller.abort(reason);
    };

    for (const [w, wave] of waves.entries()) {
      if (controller.signal.aborted) break;
      let next = 0;
      await Promise.all(Array.from({ length: Math.min(d.policy.maxParallel, wave.length) }, async () => {
        while (next < wave.length && !controller.signal.aborted) {
          // the store is away: no new device starts until it is back
          await this.pause.whenAvailable(controller.signal);
          if (controller.signal.aborted || next >= wave.length) break;
          if (this.pause.paused) continue; // closed again before this turn
          const r = rows.get(wave[next++]!)!;
          await this.updateDevice(d, r, pkg, controller.signal, save);
          // a stop leaves the attempt as it was (resume() restarts it): what it changed is written
          if (controller.signal.reason === STOPPING) rows.touch(r);
          if (tooManyFailures()) abortWith(`failure rate passed ${d.policy.abortFailureRate}`);
        }
      }));
      const canaryFailed = d.policy.canary > 0 && w === 0 && wave.some((ep) => rows.get(ep)!.state === 'failed');
      if (canaryFailed) abortWith('the canary stage failed');
    }

    if (controller.signal.reason === STOPPING) {
      await this.persist(rows); // still 'running': resume() picks it up after the restart
      return;
    }
    if (controller.signal.aborted) {
      const reason = String(controller.signal.reason ?? 'aborted');
      let seen = 0;
      for (const r of rows.values()) {
        if (!TERMINAL.has(r.state)) {
          r.state = 'skipped';
          r.error = { code: 'ABORTED', message: reason };
          rows.touch(r);
        }
        if (++seen % ROWS_PER_TURN === 0) await yieldToLoop();
      }
      d.status = 'aborted';
      d.reason = reason;
    } else {
      // a rollout where no device succeeded did not complete: it failed
      d.status = d.total > 0 && d.counts.failed === d.total ? 'failed' : 'completed';
      if (d.status === 'failed') d.reason = 'every device failed';
    }
    d.finishedAt = Date.now();
    this.emit(d);
    await this.persist(rows); // the end is written before settled() resolves
    this.deps.log.info({ deployment: d.id, status: d.status, counts: countStates(d) }, 'deployment finished');
  }

  private async updateDevice(d: Deployment, r: DeviceRollout, pkg: Buffer, deploymentSignal: AbortSignal, save: (r?: DeviceRollout) => Promise<void>): Promise<void> {
    const attemptsAllowed = d.policy.retries + 1;
    const kind = d.packageKind ?? 'ml-module';
    const flowCtx = (signal: AbortSignal): FlowContext => ({
      server: this.deps.server, log: this.deps.log, packageUri: this.deps.packageUri,
      stepTimeoutMs: d.policy.deviceTimeoutMs, pollMs: this.deps.pollMs ?? 2000, signal,
      expect: { digest: d.moduleDigest, kind, ...(d.packageVersion !== undefined ? { version: d.packageVersion } : {}) },
      deliveryFallback: d.policy.deliveryFallback ?? 'switch',
      onNote: (note) => {
        r.note = note;
      },
      onStage: (stage) => {
        r.state = stage;
        void save(r); // never rejects: the write is retried in the background
      },
    });
    while ((r.failures ?? 0) < attemptsAllowed && !deploymentSignal.aborted) {
      await this.pause.whenAvailable(deploymentSignal);
      if (deploymentSignal.aborted) break;
      if (this.pause.paused) continue; // closed again before this turn
      const outageMark = this.pause.mark();
      r.attempts++;
      r.startedAt = Date.now();
      r.error = undefined;
      await save(r);
      const device = new AbortController();
      const onAbort = (): void => device.abort(deploymentSignal.reason);
      deploymentSignal.addEventListener('abort', onAbort);
      const ctx = flowCtx(device.signal);
      let timer: NodeJS.Timeout | undefined;
      try {
        const flow = this.whenRegistered(r.endpoint, d.policy.deviceTimeoutMs, device.signal).then(() => this.flow(d, ctx, r.endpoint, pkg));
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            device.abort('device timeout');
            reject(new FlowError('TIMEOUT', `${r.endpoint} did not finish within ${d.policy.deviceTimeoutMs} ms`));
          }, d.policy.deviceTimeoutMs);
        });
        flow.catch(() => undefined); // settled by the race; a late failure is not unhandled
        const res = await Promise.race([flow, timeout]);
        r.state = 'done';
        r.modelInstance = res.modelInstance;
        if (res.alreadyInstalled) r.alreadyInstalled = true;
        r.finishedAt = Date.now();
        await save(r);
        return;
      } catch (e) {
        const err = e as Error & { code?: string };
        r.error = { code: err.code ?? 'ERROR', message: err.message };
        // a store outage during the attempt: the failure is the store's; parked, tried again once it is back
        if (!deploymentSignal.aborted && await this.pause.overlapped(outageMark)) {
          this.pause.stats.attemptsNotCounted++;
          device.abort('store outage');
          r.state = 'pending';
          this.deps.log.info({ deployment: d.id, endpoint: r.endpoint, attempt: r.attempts, code: r.error.code }, 'attempt overlapped a store outage: not counted, parked until the store is back');
          continue;
        }
        // the server stopping is not the device's failure: resume() starts the attempt again
        if (deploymentSignal.reason !== STOPPING) r.failures = (r.failures ?? 0) + 1;
        this.deps.log.info({ deployment: d.id, endpoint: r.endpoint, attempt: r.attempts, code: r.error.code, err: err.message }, 'device update failed');
        // a device that does not answer is not reset (that would only wait again); the others are
        if (deploymentSignal.reason !== STOPPING && !SILENT_CODES.has(r.error.code)) await this.settle(d, r.endpoint, kind);
        if (FINAL_CODES.has(r.error.code)) r.failures = attemptsAllowed;
      } finally {
        clearTimeout(timer);
        deploymentSignal.removeEventListener('abort', onAbort);
      }
    }
    if (deploymentSignal.reason === STOPPING) return; // left as it is; resume() restarts it
    if (deploymentSignal.aborted && (r.error?.code === 'ABORTED' || r.state === 'pending')) {
      r.state = 'skipped';
    } else {
      r.state = 'failed';
      // a failed update must leave the previous model running: say which one it is
      if (kind === 'ml-module') {
        r.rolledBackTo = await activeModelDigest({ server: this.deps.server, log: this.deps.log, packageUri: this.deps.packageUri, stepTimeoutMs: Math.min(5000, d.policy.deviceTimeoutMs), pollMs: 1000, onStage: () => undefined }, r.endpoint).catch(() => undefined);
      }
    }
    r.finishedAt = Date.now();
    await save(r);
  }

  /**
   * After a failed or aborted attempt: leave the device's update state machine ready for the next
   * package (E.6 for Object 5; Object 9 instances back to INITIAL). Best effort, bounded.
   */
  private async settle(d: Deployment, endpoint: string, kind: PackageKind): Promise<void> {
    const ctx: FlowContext = {
      server: this.deps.server, log: this.deps.log, packageUri: this.deps.packageUri,
      stepTimeoutMs: Math.min(5000, d.policy.deviceTimeoutMs), pollMs: 1000, onStage: () => undefined,
      expect: { digest: d.moduleDigest, kind, ...(d.packageVersion !== undefined ? { version: d.packageVersion } : {}) },
    };
    const fota = d.method === 'fota-push' || d.method === 'fota-pull';
    await (fota ? settleFirmwareAfterFailure(ctx, endpoint) : settleSoftwareAfterFailure(ctx, endpoint)).catch((e: unknown) =>
      this.deps.log.debug({ deployment: d.id, endpoint, err: (e as Error).message }, 'could not reset the device after a failure'));
  }

  /** After a server restart (memory store) a device is known again only once it registers. */
  private async whenRegistered(endpoint: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (await this.deps.server.registrations.byEndpoint(endpoint)) return;
    await new Promise<void>((resolve, reject) => {
      const finish = (fn: () => void): void => {
        clearTimeout(timer);
        off();
        signal.removeEventListener('abort', onAbort);
        fn();
      };
      const timer = setTimeout(() => finish(() => reject(new FlowError('DEVICE_NOT_FOUND', `${endpoint} is not registered`))), timeoutMs);
      const off = onEndpointEvent(this.deps.server, endpoint, (e) => {
        if (e.type === 'registration') finish(resolve);
      });
      const onAbort = (): void => finish(() => reject(new FlowError('ABORTED', 'the deployment was aborted')));
      signal.addEventListener('abort', onAbort);
    });
  }

  private flow(d: Deployment, ctx: FlowContext, endpoint: string, pkg: Buffer): Promise<FlowResult> {
    switch (d.method) {
      case 'sota-push': return runSoftwareUpdate(ctx, endpoint, pkg, 'push');
      case 'sota-pull': return runSoftwareUpdate(ctx, endpoint, pkg, 'pull');
      case 'fota-push': return runFirmwareUpdate(ctx, endpoint, pkg, 'push');
      case 'fota-pull': return runFirmwareUpdate(ctx, endpoint, pkg, 'pull');
    }
  }
}
