// Runs deployments: resolves the target devices, updates them in waves (canary first) with
// bounded parallelism, a per-device timeout and retries, aborts when the failure rate passes the
// policy's threshold, persists every state change and resumes running deployments after a restart.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { LwM2mServer } from '../server.ts';
import type { DeploymentStore } from '../store/deployment-store.ts';
import { FlowError, readValue } from './device-calls.ts';
import { countStates, defaultPolicy, progressOf, TERMINAL, type Deployment, type DeviceRollout, type RolloutPolicy, type TargetSelector } from './deployment.ts';
import { runFirmwareUpdate } from './firmware-update.ts';
import type { PackageRepository } from './package-repository.ts';
import { runSoftwareUpdate } from './software-update.ts';
import { activeModelDigest, type FlowContext, type FlowResult, type UpdateMethod } from './update-flow.ts';

export type DeploymentRequest = {
  moduleDigest: string;
  moduleName?: string;
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
};

/** Abort reason when the server stops: the deployment stays 'running' and resumes at the next start. */
const STOPPING = 'server stopping';

export class DeploymentError extends Error {
  constructor(readonly code: 'NOT_FOUND' | 'NO_PACKAGE' | 'NO_TARGETS' | 'BAD_POLICY' | 'NOT_RUNNING', message: string) {
    super(message);
  }
}

export class DeploymentEngine {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();

  constructor(private readonly deps: DeploymentEngineDeps) {}

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
      selector: req.selector, policy, status: 'running', createdAt: Date.now(), node: this.deps.nodeId,
      devices: Object.fromEntries(endpoints.map((ep) => [ep, { endpoint: ep, state: 'pending', attempts: 0 } satisfies DeviceRollout])),
    };
    await this.deps.store.save(d);
    this.emit(d);
    this.start(d);
    return d;
  }

  get(id: string): Promise<Deployment | undefined> {
    return this.deps.store.get(id);
  }

  list(): Promise<Deployment[]> {
    return this.deps.store.all();
  }

  /** Resolves when the deployment has stopped running (for tests and shutdown). */
  async settled(id: string): Promise<void> {
    await this.running.get(id)?.done;
  }

  async abort(id: string, reason = 'aborted by request'): Promise<Deployment> {
    const r = this.running.get(id);
    const d = await this.deps.store.get(id);
    if (!d) throw new DeploymentError('NOT_FOUND', `no deployment ${id}`);
    if (!r || d.status !== 'running') throw new DeploymentError('NOT_RUNNING', `deployment ${id} is ${d.status}`);
    r.controller.abort(reason);
    await r.done;
    return (await this.deps.store.get(id))!;
  }

  /** After a restart: picks up deployments that were running; devices mid-update start again. */
  async resume(): Promise<number> {
    let n = 0;
    for (const d of await this.deps.store.all()) {
      if (d.status !== 'running' || this.running.has(d.id) || d.node !== this.deps.nodeId) continue;
      for (const r of Object.values(d.devices)) if (!TERMINAL.has(r.state)) r.state = 'pending';
      await this.deps.store.save(d);
      this.deps.log.info({ deployment: d.id, pending: Object.values(d.devices).filter((r) => r.state === 'pending').length }, 'deployment resumed');
      this.start(d);
      n++;
    }
    return n;
  }

  async stop(): Promise<void> {
    for (const r of this.running.values()) r.controller.abort(STOPPING);
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private async resolve(sel: TargetSelector): Promise<string[]> {
    const regs = await this.deps.server.registrations.all();
    let eps = regs.map((r) => r.endpoint);
    if (sel.endpoints) {
      const wanted = new Set(sel.endpoints);
      eps = eps.filter((e) => wanted.has(e));
    }
    if (sel.prefix !== undefined) eps = eps.filter((e) => e.startsWith(sel.prefix!));
    if (sel.deviceModel !== undefined) {
      const keep: string[] = [];
      for (const ep of eps) {
        const model = await readValue(this.deps.server, ep, [3, 0, 1], 10_000).catch(() => undefined);
        if (typeof model === 'string' && model.includes(sel.deviceModel)) keep.push(ep);
      }
      eps = keep;
    }
    return eps.sort();
  }

  private start(d: Deployment): void {
    const controller = new AbortController();
    // every device in flight listens to the deployment's abort: as many listeners as maxParallel
    setMaxListeners(0, controller.signal);
    const done = this.run(d, controller).catch((e: unknown) => {
      this.deps.log.error({ err: e, deployment: d.id }, 'deployment crashed');
    }).finally(() => this.running.delete(d.id));
    this.running.set(d.id, { controller, done });
  }

  private emit(d: Deployment, r?: DeviceRollout): void {
    this.deps.server.events.emit({
      type: 'deployment', deploymentId: d.id, endpoint: r?.endpoint, state: r ? r.state : d.status,
      detail: r?.error?.message ?? d.reason, counts: countStates(d), progress: progressOf(d),
    });
  }

  private async run(d: Deployment, controller: AbortController): Promise<void> {
    const pkg = await this.deps.repo.get(d.moduleDigest);
    const save = async (r?: DeviceRollout): Promise<void> => {
      await this.deps.store.save(d);
      this.emit(d, r);
    };
    if (!pkg) {
      d.status = 'failed';
      d.reason = `package ${d.moduleDigest} is gone from the repository`;
      d.finishedAt = Date.now();
      await save();
      return;
    }
    const pending = Object.values(d.devices).filter((r) => r.state === 'pending').map((r) => r.endpoint);
    const waves: string[][] = [];
    let rest = pending;
    if (d.policy.canary > 0) {
      waves.push(rest.slice(0, d.policy.canary));
      rest = rest.slice(d.policy.canary);
    }
    for (let i = 0; i < rest.length; i += d.policy.batchSize) waves.push(rest.slice(i, i + d.policy.batchSize));

    const tooManyFailures = (): boolean => {
      const finished = Object.values(d.devices).filter((r) => r.state === 'done' || r.state === 'failed');
      const failed = finished.filter((r) => r.state === 'failed').length;
      return finished.length >= d.policy.minSample && failed / finished.length > d.policy.abortFailureRate;
    };
    const abortWith = (reason: string): void => {
      if (!controller.signal.aborted) controller.abort(reason);
    };

    for (const [w, wave] of waves.entries()) {
      if (controller.signal.aborted) break;
      let next = 0;
      await Promise.all(Array.from({ length: Math.min(d.policy.maxParallel, wave.length) }, async () => {
        while (next < wave.length && !controller.signal.aborted) {
          const r = d.devices[wave[next++]!]!;
          await this.updateDevice(d, r, pkg, controller.signal, save);
          if (tooManyFailures()) abortWith(`failure rate passed ${d.policy.abortFailureRate}`);
        }
      }));
      const canaryFailed = d.policy.canary > 0 && w === 0 && wave.some((ep) => d.devices[ep]!.state === 'failed');
      if (canaryFailed) abortWith('the canary stage failed');
    }

    if (controller.signal.reason === STOPPING) {
      await this.deps.store.save(d); // still 'running': resume() picks it up after the restart
      return;
    }
    if (controller.signal.aborted) {
      d.status = 'aborted';
      d.reason = String(controller.signal.reason ?? 'aborted');
      for (const r of Object.values(d.devices)) {
        if (!TERMINAL.has(r.state)) {
          r.state = 'skipped';
          r.error = { code: 'ABORTED', message: d.reason };
        }
      }
    } else {
      d.status = 'completed';
    }
    d.finishedAt = Date.now();
    await save();
    this.deps.log.info({ deployment: d.id, status: d.status, counts: countStates(d) }, 'deployment finished');
  }

  private async updateDevice(d: Deployment, r: DeviceRollout, pkg: Buffer, deploymentSignal: AbortSignal, save: (r?: DeviceRollout) => Promise<void>): Promise<void> {
    const attemptsAllowed = d.policy.retries + 1;
    while (r.attempts < attemptsAllowed && !deploymentSignal.aborted) {
      r.attempts++;
      r.startedAt = Date.now();
      r.error = undefined;
      const device = new AbortController();
      const onAbort = (): void => device.abort(deploymentSignal.reason);
      deploymentSignal.addEventListener('abort', onAbort);
      const ctx: FlowContext = {
        server: this.deps.server, log: this.deps.log, packageUri: this.deps.packageUri,
        stepTimeoutMs: d.policy.deviceTimeoutMs, pollMs: this.deps.pollMs ?? 2000, signal: device.signal,
        onStage: (stage) => {
          r.state = stage;
          void save(r);
        },
      };
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
        r.finishedAt = Date.now();
        await save(r);
        return;
      } catch (e) {
        const err = e as Error & { code?: string };
        r.error = { code: err.code ?? 'ERROR', message: err.message };
        this.deps.log.info({ deployment: d.id, endpoint: r.endpoint, attempt: r.attempts, code: r.error.code, err: err.message }, 'device update failed');
      } finally {
        clearTimeout(timer);
        deploymentSignal.removeEventListener('abort', onAbort);
      }
    }
    if (deploymentSignal.reason === STOPPING) return; // left as it is; resume() restarts it
    if (deploymentSignal.aborted && r.error?.code === 'ABORTED') {
      r.state = 'skipped';
    } else {
      r.state = 'failed';
      // a failed update must leave the previous model running: say which one it is
      r.rolledBackTo = await activeModelDigest({ server: this.deps.server, log: this.deps.log, packageUri: this.deps.packageUri, stepTimeoutMs: 10_000, pollMs: 1000, onStage: () => undefined }, r.endpoint).catch(() => undefined);
    }
    r.finishedAt = Date.now();
    await save(r);
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
      const off = this.deps.server.events.on((e) => {
        if (e.type === 'registration' && e.registration.endpoint === endpoint) finish(resolve);
      });
      const onAbort = (): void => finish(() => reject(new FlowError('ABORTED', 'the deployment was aborted')));
      signal.addEventListener('abort', onAbort);
    });
  }

  private flow(d: Deployment, ctx: FlowContext, endpoint: string, pkg: Buffer): Promise<FlowResult> {
    switch (d.method) {
      case 'sota-push': return runSoftwareUpdate(ctx, endpoint, d.moduleDigest, pkg, 'push');
      case 'sota-pull': return runSoftwareUpdate(ctx, endpoint, d.moduleDigest, pkg, 'pull');
      case 'fota-push': return runFirmwareUpdate(ctx, endpoint, d.moduleDigest, pkg, 'push');
      case 'fota-pull': return runFirmwareUpdate(ctx, endpoint, d.moduleDigest, pkg, 'pull');
    }
  }
}
