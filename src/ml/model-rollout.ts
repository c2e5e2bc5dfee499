// A model rolled out without a compile target (issue 16): the selected devices are grouped by the
// profile their own reports map them to, the model is compiled once per profile (cached by model +
// profile + compiler version), each device is checked against the RAM, flash and op set it
// reports, and each profile's module goes out as a deployment of its own (the deployment engine
// does the delivery). With a quality policy each profile first updates its canaries, runs the
// probe set on them before and after, and either continues or switches them back.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { DeploymentEngine } from '../ota/deployment-engine.ts';
import type { Deployment, RolloutPolicy, TargetSelector } from '../ota/deployment.ts';
import type { PackageRepository } from '../ota/package-repository.ts';
import { judgeQuality, profileQuality, type ProfileQuality, type QualityPolicy } from '../ota/quality-canary.ts';
import type { UpdateMethod } from '../ota/update-flow.ts';
import type { LwM2mServer } from '../server.ts';
import type { PackageSigning } from '../signing/package-signing.ts';
import type { Collection } from '../store/collection.ts';
import { allRows } from '../store/deployment-store.ts';
import { CompileFailure } from './compiler-service.ts';
import type { DeviceProfileEntry, DeviceProfiles } from './device-profiles.ts';
import type { ModelCatalog } from './model-catalog.ts';
import { activeModel, switchBack, type ActiveModel } from './model-switch.ts';
import { checkDeviceFit } from './module-fit.ts';
import { runProbes, type ProbeRun } from './probe-runner.ts';
import type { ProbeInput, ProbeSets } from './probe-sets.ts';

export type ModelRolloutRequest = {
  modelId: string;
  selector: TargetSelector;
  method: UpdateMethod;
  policy?: Partial<RolloutPolicy>;
  quality?: QualityPolicy;
};

export type GroupStatus = 'pending' | 'compiling' | 'canary' | 'delivering' | 'completed' | 'rolled-back' | 'failed' | 'skipped';

export type CanaryDevice = {
  endpoint: string;
  /** the model it ran before (digest), null when none was active */
  previousDigest: string | null;
  accuracy: number | null;
  baselineAccuracy: number | null;
  p95LatencyMs: number | null;
  /** after a rollback: the digest the device runs again (read back from /32002/0/7), null when no model is active */
  rolledBackTo?: string | null;
  rollbackError?: string;
};

export type RolloutGroup = {
  profile: string;
  /** the devices this profile's module goes to (they fit) */
  endpoints: string[];
  moduleDigest: string | null;
  moduleBytes: number | null;
  arenaBytes: number | null;
  /** the module came from the compile cache */
  cached: boolean | null;
  deployments: string[];
  status: GroupStatus;
  reason?: string;
  canaries?: CanaryDevice[];
  quality?: ProfileQuality & { verdict: 'passed' | 'failed'; reasons: string[] };
};

export type SkippedDevice = { endpoint: string; profile: string | null; code: string; reason: string };

export type ModelRolloutStatus = 'running' | 'completed' | 'rolled-back' | 'failed' | 'aborted';

export type ModelRollout = {
  id: string;
  kind: 'model-rollout';
  modelId: string;
  modelName: string;
  method: UpdateMethod;
  selector: TargetSelector;
  policy: Partial<RolloutPolicy>;
  quality?: QualityPolicy;
  status: ModelRolloutStatus;
  reason?: string;
  createdAt: number;
  finishedAt?: number;
  /** every selected device: its profile and how it was chosen */
  profiles: Record<string, { profile: string | null; how: 'rule' | 'capabilities' | 'none' | 'unread'; detail: string }>;
  groups: RolloutGroup[];
  skipped: SkippedDevice[];
};

export class ModelRolloutError extends Error {
  constructor(readonly code: 'MODEL_NOT_FOUND' | 'NO_TARGETS' | 'PROBE_SET_NOT_FOUND' | 'NOT_FOUND' | 'NOT_RUNNING' | 'BAD_POLICY', message: string) {
    super(message);
  }
}

export type ModelRolloutDeps = {
  server: LwM2mServer;
  engine: DeploymentEngine;
  catalog: ModelCatalog;
  profiles: DeviceProfiles;
  probeSets: ProbeSets;
  repo: PackageRepository;
  store: Collection<ModelRollout>;
  log: Logger;
  /** every probe run, for the model health view */
  onProbeRun?: (run: ProbeRun, profile: string) => void;
  /** device exchanges of probes and rollbacks */
  stepTimeoutMs?: number;
  /** the server signs what it compiled, as POST /models/:id/compile does (docs/package-signing.md) */
  signing?: PackageSigning;
};

/** Device reads in flight at once while profiling the selected devices. */
const PROFILE_CONCURRENCY = 8;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

export class ModelRollouts {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void>; rollout: ModelRollout }>();

  constructor(private readonly deps: ModelRolloutDeps) {}

  private get timeout(): number {
    return this.deps.stepTimeoutMs ?? 15_000;
  }

  async create(req: ModelRolloutRequest): Promise<ModelRollout> {
    const model = await this.deps.catalog.get(req.modelId);
    if (!model) throw new ModelRolloutError('MODEL_NOT_FOUND', `no model ${req.modelId}`);
    if (req.quality) {
      if (!(await this.deps.probeSets.get(req.quality.probeSet))) throw new ModelRolloutError('PROBE_SET_NOT_FOUND', `no probe set ${req.quality.probeSet}: POST /probe-sets first`);
      if (!(req.quality.canary >= 1)) throw new ModelRolloutError('BAD_POLICY', 'quality.canary must be >= 1');
    }
    const endpoints = await this.resolve(req.selector);
    if (endpoints.length === 0) throw new ModelRolloutError('NO_TARGETS', 'the selector matches no registered device');
    const r: ModelRollout = {
      id: randomBytes(6).toString('hex'), kind: 'model-rollout', modelId: model.id, modelName: `${model.name}@${model.version}`,
      method: req.method, selector: req.selector, policy: req.policy ?? {}, ...(req.quality ? { quality: req.quality } : {}),
      status: 'running', createdAt: Date.now(),
      profiles: Object.fromEntries(endpoints.map((ep) => [ep, { profile: null, how: 'unread' as const, detail: 'not read yet' }])),
      groups: [], skipped: [],
    };
    await this.deps.store.save(r);
    this.emit(r);
    const controller = new AbortController();
    const done = this.run(r, endpoints, controller.signal).catch((e: unknown) => {
      this.deps.log.error({ err: e, rollout: r.id }, 'model rollout crashed');
      r.status = 'failed';
      r.reason = `internal error: ${(e as Error).message}`;
      r.finishedAt = Date.now();
      this.emit(r);
      return this.deps.store.save(r);
    }).finally(() => this.running.delete(r.id));
    this.running.set(r.id, { controller, done, rollout: r });
    return structuredClone(r);
  }

  async get(id: string): Promise<ModelRollout | undefined> {
    const r = this.running.get(id);
    return r ? structuredClone(r.rollout) : this.deps.store.get(id);
  }

  async list(): Promise<ModelRollout[]> {
    return Promise.all((await this.deps.store.all()).map(async (r) => (await this.get(r.id)) ?? r));
  }

  async settled(id: string): Promise<void> {
    await this.running.get(id)?.done;
  }

  async abort(id: string, reason = 'aborted by request'): Promise<ModelRollout> {
    const r = this.running.get(id);
    if (!r) {
      if (!(await this.deps.store.get(id))) throw new ModelRolloutError('NOT_FOUND', `no deployment ${id}`);
      throw new ModelRolloutError('NOT_RUNNING', `deployment ${id} is not running`);
    }
    r.controller.abort(reason);
    for (const g of r.rollout.groups) for (const d of g.deployments) await this.deps.engine.abort(d, reason).catch(() => undefined);
    await r.done;
    return structuredClone(r.rollout);
  }

  /** After a restart a model rollout does not resume (its deliveries do, in the engine): it ends failed, saying so. */
  async resume(): Promise<void> {
    for (const r of await this.deps.store.all()) {
      if (r.status !== 'running') continue;
      r.status = 'failed';
      r.reason = 'interrupted by a server restart; the deliveries already started resume as deployments of their own';
      r.finishedAt = Date.now();
      await this.deps.store.save(r);
    }
  }

  async stop(): Promise<void> {
    for (const r of this.running.values()) r.controller.abort('server stopping');
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** The device rows of every profile's deployments, with the skipped devices and the canaries' rollbacks. */
  async deviceRows(r: ModelRollout): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for (const g of r.groups) {
      const rolledBack = new Map((g.canaries ?? []).filter((c) => c.rolledBackTo !== undefined || c.rollbackError).map((c) => [c.endpoint, c]));
      const seen = new Set<string>();
      for (const id of [...g.deployments].reverse()) {
        const d = await this.deps.engine.get(id);
        // the delivery's rows a page at a time (issue 14)
        for await (const row of allRows({ rows: (dep, after, limit) => this.deps.engine.rows(dep, after, limit) }, id)) {
          if (seen.has(row.endpoint)) continue; // a re-delivery of the previous model is the latest word
          seen.add(row.endpoint);
          const rb = rolledBack.get(row.endpoint);
          rows.push({
            endpoint: row.endpoint, profile: g.profile, deployment: id, moduleDigest: d!.moduleDigest,
            state: rb ? 'rolled-back' : row.state, error: row.error ?? (rb?.rollbackError ? { code: 'ROLLBACK_FAILED', message: rb.rollbackError } : null),
            rolledBackTo: rb ? rb.rolledBackTo ?? null : row.rolledBackTo ?? null, attempts: row.attempts,
          });
        }
      }
      for (const ep of g.endpoints) if (!seen.has(ep)) rows.push({ endpoint: ep, profile: g.profile, deployment: null, moduleDigest: g.moduleDigest, state: g.status === 'rolled-back' ? 'skipped' : 'pending', error: g.status === 'rolled-back' ? { code: 'ROLLED_BACK', message: g.reason ?? 'the canary stage rolled back' } : null, rolledBackTo: null, attempts: 0 });
    }
    for (const s of r.skipped) rows.push({ endpoint: s.endpoint, profile: s.profile, deployment: null, moduleDigest: null, state: 'skipped', error: { code: s.code, message: s.reason }, rolledBackTo: null, attempts: 0 });
    return rows.sort((a, b) => String(a.endpoint).localeCompare(String(b.endpoint)));
  }

  private async resolve(sel: TargetSelector): Promise<string[]> {
    let eps = (await this.deps.server.registrations.all()).map((r) => r.endpoint);
    if (sel.endpoints) {
      const wanted = new Set(sel.endpoints);
      eps = eps.filter((e) => wanted.has(e));
    }
    if (sel.prefix !== undefined) eps = eps.filter((e) => e.startsWith(sel.prefix!));
    return eps.sort();
  }

  private emit(r: ModelRollout, endpoint?: string, state?: string, detail?: string): void {
    const counts: Record<string, number> = { skipped: r.skipped.length };
    for (const g of r.groups) counts[g.status] = (counts[g.status] ?? 0) + g.endpoints.length;
    const finished = r.skipped.length + r.groups.filter((g) => ['completed', 'rolled-back', 'failed', 'skipped'].includes(g.status)).reduce((n, g) => n + g.endpoints.length, 0);
    const total = Object.keys(r.profiles).length;
    this.deps.server.events.emit({
      type: 'deployment', deploymentId: r.id, endpoint, state: state ?? r.status, detail: detail ?? r.reason, counts,
      progress: total === 0 ? 1 : Math.min(1, finished / total),
    });
  }

  private save(r: ModelRollout): void {
    this.deps.store.save(r).catch((e: unknown) => this.deps.log.warn({ rollout: r.id, err: (e as Error).message }, 'model rollout not saved'));
  }

  private async run(r: ModelRollout, endpoints: string[], signal: AbortSignal): Promise<void> {
    // 1. what each device is (Object 3 + ML Runtime), and its profile
    const entries = await mapLimit(endpoints, PROFILE_CONCURRENCY, (ep) => this.deps.profiles.get(ep).catch((e: unknown) => ({ endpoint: ep, error: (e as Error).message })));
    const byProfile = new Map<string, DeviceProfileEntry[]>();
    for (const e of entries) {
      // selector.deviceModel: the model number (/3/0/1) the device reported contains it
      if (r.selector.deviceModel !== undefined && !('error' in e) && !(e.info.modelNumber ?? '').includes(r.selector.deviceModel)) {
        delete r.profiles[e.endpoint];
        continue;
      }
      if ('error' in e) {
        r.profiles[e.endpoint] = { profile: null, how: 'unread', detail: e.error };
        r.skipped.push({ endpoint: e.endpoint, profile: null, code: 'DEVICE_UNREADABLE', reason: `device info could not be read: ${e.error}` });
        continue;
      }
      r.profiles[e.endpoint] = { profile: e.match.profile, how: e.match.how, detail: e.match.detail };
      if (e.match.profile === null) {
        r.skipped.push({ endpoint: e.endpoint, profile: null, code: 'NO_PROFILE', reason: `matches no device profile: ${e.match.detail}` });
        continue;
      }
      const list = byProfile.get(e.match.profile) ?? [];
      list.push(e);
      byProfile.set(e.match.profile, list);
    }
    r.groups = [...byProfile.keys()].sort().map((profile) => ({ profile, endpoints: [], moduleDigest: null, moduleBytes: null, arenaBytes: null, cached: null, deployments: [], status: 'pending' }));
    this.save(r);

    // 2. one module per profile (one compile at a time: the compiler has one worker), then the fit of each device
    for (const g of r.groups) {
      if (signal.aborted) break;
      g.status = 'compiling';
      const devices = byProfile.get(g.profile)!;
      try {
        const { module, cached } = await this.deps.catalog.compileCached(r.modelId, g.profile);
        if (this.deps.signing && (await this.deps.signing.status(module.moduleDigest)).state !== 'signed') {
          const m = await this.deps.catalog.get(r.modelId);
          if (m) await this.deps.signing.sign(module.moduleDigest, { name: m.name, version: m.version, kind: 'ml-module', target: g.profile });
        }
        Object.assign(g, { moduleDigest: module.moduleDigest, moduleBytes: module.moduleBytes, arenaBytes: module.arenaBytes, cached });
        const needs = { arenaBytes: module.arenaBytes, moduleBytes: module.moduleBytes, ops: [...new Set(module.report.ops.map((o) => o.op))] };
        for (const d of devices) {
          const v = checkDeviceFit(needs, d.info);
          if (v.ok) g.endpoints.push(d.endpoint);
          else r.skipped.push({ endpoint: d.endpoint, profile: g.profile, code: v.code, reason: v.reason });
        }
        g.status = g.endpoints.length ? 'pending' : 'skipped';
        if (!g.endpoints.length) g.reason = 'no device of this profile can take the module';
      } catch (e) {
        const code = e instanceof CompileFailure ? e.code : 'COMPILE_FAILED';
        g.status = 'failed';
        g.reason = `compile for ${g.profile} failed: ${(e as Error).message}`;
        for (const d of devices) r.skipped.push({ endpoint: d.endpoint, profile: g.profile, code, reason: g.reason });
      }
      this.save(r);
    }

    // 3. deliver, profile by profile in parallel (each profile's deployment bounds its own parallelism)
    const probes = r.quality ? await this.deps.probeSets.inputs(r.quality.probeSet) : [];
    await Promise.all(r.groups.filter((g) => g.status === 'pending').map((g) => (r.quality ? this.qualityGroup(r, g, r.quality, probes, signal) : this.plainGroup(r, g, signal))));

    const live = r.groups.filter((g) => g.status !== 'skipped');
    if (signal.aborted) {
      r.status = 'aborted';
      r.reason = String(signal.reason ?? 'aborted');
    } else if (live.length > 0 && live.every((g) => g.status === 'rolled-back')) {
      r.status = 'rolled-back';
      r.reason = live.map((g) => `${g.profile}: ${g.reason}`).join('; ');
    } else if (live.some((g) => g.status === 'completed')) {
      r.status = 'completed';
      const back = live.filter((g) => g.status !== 'completed');
      if (back.length) r.reason = back.map((g) => `${g.profile} ${g.status}: ${g.reason}`).join('; ');
    } else {
      r.status = 'failed';
      r.reason = live.length ? live.map((g) => `${g.profile}: ${g.reason}`).join('; ') : 'no selected device can take the model';
    }
    r.finishedAt = Date.now();
    this.emit(r);
    await this.deps.store.save(r);
    this.deps.log.info({ rollout: r.id, status: r.status, groups: r.groups.map((g) => `${g.profile}:${g.status}`), skipped: r.skipped.length }, 'model rollout finished');
  }

  /** Delivers a module to some devices as one deployment and waits for it to end. */
  private async deliver(r: ModelRollout, g: RolloutGroup, digest: string, endpoints: string[], policy: Partial<RolloutPolicy>): Promise<Deployment> {
    const d = await this.deps.engine.create({
      moduleDigest: digest, moduleName: `${r.modelName} (${g.profile})`, packageKind: 'ml-module', method: r.method,
      selector: { endpoints }, policy,
    });
    g.deployments.push(d.id);
    this.save(r);
    await this.deps.engine.settled(d.id);
    return (await this.deps.engine.get(d.id)) ?? d;
  }

  private async plainGroup(r: ModelRollout, g: RolloutGroup, signal: AbortSignal): Promise<void> {
    g.status = 'delivering';
    const d = await this.deliver(r, g, g.moduleDigest!, g.endpoints, r.policy);
    if (signal.aborted) return;
    g.status = (d.counts.done ?? 0) > 0 ? 'completed' : 'failed';
    if (g.status === 'failed') g.reason = d.reason ?? 'every device failed';
  }

  private async qualityGroup(r: ModelRollout, g: RolloutGroup, q: QualityPolicy, probes: ProbeInput[], signal: AbortSignal): Promise<void> {
    g.status = 'canary';
    const canaries = g.endpoints.slice(0, q.canary);
    const rest = g.endpoints.slice(q.canary);
    // the previous model, and its probe figures: measured before the new module arrives, so the
    // canary needs no switch back and forth (the same figures as running it "where still installed")
    const before = new Map<string, ActiveModel | null>();
    const baselines: ProbeRun[] = [];
    await Promise.all(canaries.map(async (ep) => {
      const active = await activeModel(this.deps.server, ep, this.timeout).catch(() => null);
      before.set(ep, active);
      if (!active || active.digest === g.moduleDigest) return;
      const run = await runProbes(this.deps.server, ep, probes, this.timeout, signal).catch((e: unknown) => {
        this.deps.log.warn({ rollout: r.id, endpoint: ep, err: (e as Error).message }, 'baseline probes failed');
        return undefined;
      });
      if (run) {
        baselines.push(run);
        this.deps.onProbeRun?.(run, g.profile);
      }
    }));
    if (signal.aborted) return;
    const canaryPolicy = { ...r.policy, canary: 0, batchSize: canaries.length, abortFailureRate: 1 };
    const d = await this.deliver(r, g, g.moduleDigest!, canaries, canaryPolicy);
    if (signal.aborted) return;
    const installed: string[] = [];
    for (const ep of canaries) if ((await this.deps.engine.row(d.id, ep))?.state === 'done') installed.push(ep);
    const runs: ProbeRun[] = [];
    await Promise.all(installed.map(async (ep) => {
      const run = await runProbes(this.deps.server, ep, probes, this.timeout, signal).catch((e: unknown) => {
        this.deps.log.warn({ rollout: r.id, endpoint: ep, err: (e as Error).message }, 'canary probes failed');
        return undefined;
      });
      if (run) {
        runs.push(run);
        this.deps.onProbeRun?.(run, g.profile);
      }
    }));
    if (signal.aborted) return;
    const figures = profileQuality(g.profile, runs, baselines.filter((b) => runs.some((x) => x.endpoint === b.endpoint)));
    const verdict = judgeQuality(q, figures);
    if (installed.length < canaries.length) {
      verdict.pass = false;
      verdict.reasons.unshift(`${canaries.length - installed.length} of ${canaries.length} canaries did not install the module`);
    }
    g.quality = { ...figures, verdict: verdict.pass ? 'passed' : 'failed', reasons: verdict.reasons };
    g.canaries = canaries.map((ep) => {
      const run = runs.find((x) => x.endpoint === ep);
      const base = baselines.find((x) => x.endpoint === ep);
      return { endpoint: ep, previousDigest: before.get(ep)?.digest ?? null, accuracy: run?.accuracy ?? null, baselineAccuracy: base?.accuracy ?? null, p95LatencyMs: run?.p95LatencyMs ?? null };
    });
    this.save(r);
    if (verdict.pass) {
      this.emit(r, undefined, 'canary-passed', `${g.profile}: canary passed (accuracy ${(100 * figures.accuracy).toFixed(1)} %, p95 ${figures.p95LatencyMs?.toFixed(2) ?? '?'} ms)`);
      if (rest.length === 0) {
        g.status = 'completed';
        return;
      }
      g.status = 'delivering';
      // the rest in waves of the policy's batch size; the canary stage is behind us
      const after = await this.deliver(r, g, g.moduleDigest!, rest, { ...r.policy, canary: 0 });
      if (signal.aborted) return;
      g.status = (after.counts.done ?? 0) > 0 || installed.length > 0 ? 'completed' : 'failed';
      if (g.status === 'failed') g.reason = after.reason ?? 'every device failed';
      return;
    }
    // missed: the canaries run the previous model again
    g.reason = verdict.reasons.join('; ');
    for (const c of g.canaries) await this.rollBack(r, g, c, before.get(c.endpoint) ?? null);
    g.status = 'rolled-back';
    this.save(r);
    this.deps.log.warn({ rollout: r.id, profile: g.profile, reason: g.reason }, 'canary missed the quality thresholds: rolled back');
    this.emit(r, undefined, 'rolled-back', `${g.profile}: ${g.reason}`);
  }

  /** Switches a canary back to its previous model (model-switch.ts) and records what it runs now. */
  private async rollBack(r: ModelRollout, g: RolloutGroup, c: CanaryDevice, prev: ActiveModel | null): Promise<void> {
    const out = await switchBack(this.deps.server, c.endpoint, prev, g.moduleDigest!, this.timeout, async (digest) => {
      if (!(await this.deps.repo.has(digest))) return undefined;
      const d = await this.deliver(r, g, digest, [c.endpoint], { ...r.policy, canary: 0, abortFailureRate: 1 });
      const row = await this.deps.engine.row(d.id, c.endpoint);
      return { ok: row?.state === 'done', message: row?.error?.message ?? d.reason };
    });
    c.rolledBackTo = out.rolledBackTo;
    if (out.error) c.rollbackError = out.error;
    this.emit(r, c.endpoint, c.rollbackError ? 'rollback-failed' : 'rolled-back', c.rollbackError ?? `runs ${c.rolledBackTo ?? 'no model'} again`);
  }
}
