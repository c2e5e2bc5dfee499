// SOTA over LwM2M Object 9, Software Management (LwM2M 1.1 registry, Object 9 v1.1): read the
// device's instances first (the package already installed: activate it or finish; instances an
// interrupted attempt left half-way: back to INITIAL), deliver (push: Write Package /9/x/2
// block-wise; pull: Write Package URI /9/x/3), then Install (/9/x/4) and Activate (/9/x/10),
// following Update State (7), Update Result (9) and Activation State (12): never a 2.04 alone.
import { ContentFormat } from '../lwm2m/content-format.ts';
import type { LwM2mNode, ObjectInstance, ResourceValue } from '../lwm2m/node.ts';
import { call, callOk, checkAborted, FlowError, readValue, watch } from './device-calls.ts';
import { ResourceFollower } from './resource-follower.ts';
import { confirmActive, declaresMlModel, findModel, instancesOf, ML_MODEL, type FlowContext, type FlowResult } from './update-flow.ts';

const SW = 9;
export const SwState = { INITIAL: 0, DOWNLOAD_STARTED: 1, DOWNLOADED: 2, DELIVERED: 3, INSTALLED: 4 } as const;

const RESULT_NAMES: Record<number, string> = {
  50: 'not enough storage', 51: 'out of memory', 52: 'connection lost during download', 53: 'package integrity check failure',
  54: 'unsupported package type', 56: 'invalid URI', 57: 'device-defined update error', 58: 'software installation failure',
  59: 'uninstallation failure',
};

export function softwareResultText(result: number): string {
  return RESULT_NAMES[result] ?? `update result ${result}`;
}

/** Object 9 Update Result: 0..3 progress and success, 50..59 failures; anything else is not the object's. */
function judge(endpoint: string, x: number, state: unknown, result: unknown): void {
  if (state !== undefined && (typeof state !== 'number' || !Number.isInteger(state) || state < 0 || state > SwState.INSTALLED)) {
    throw new FlowError('BAD_STATE', `${endpoint} reports Update State ${String(state)} on /9/${x}/7, outside 0..4`);
  }
  if (result !== undefined && (typeof result !== 'number' || !Number.isInteger(result) || !((result >= 0 && result <= 3) || (result >= 50 && result <= 59)))) {
    throw new FlowError('BAD_RESULT', `${endpoint} reports Update Result ${String(result)} on /9/${x}/9, outside 0..3 and 50..59`);
  }
  if (typeof result === 'number' && result >= 50) throw new FlowError(`SW_RESULT_${result}`, `${endpoint}: ${softwareResultText(result)} (result ${result})`);
}

function value(inst: ObjectInstance, id: number): ResourceValue | undefined {
  const r = inst.resources.find((x) => x.id === id);
  return r?.kind === 'resource' ? r.value : undefined;
}

async function readInstances(ctx: FlowContext, endpoint: string): Promise<ObjectInstance[]> {
  const r = await callOk(ctx.server, endpoint, { kind: 'read', path: [SW] }, ctx.stepTimeoutMs, 'read /9');
  return instancesOf(r.node);
}

/**
 * Instances an interrupted attempt left between INITIAL and INSTALLED go back to INITIAL: an empty
 * Package URI cancels a download (states 1, 2), Uninstall drops a delivered package (state 3).
 */
async function resetStale(ctx: FlowContext, endpoint: string, instances: ObjectInstance[]): Promise<void> {
  for (const inst of instances) {
    const st = value(inst, 7);
    if (st === SwState.DOWNLOAD_STARTED || st === SwState.DOWNLOADED) {
      await callOk(ctx.server, endpoint, { kind: 'write', path: [SW, inst.id, 3], mode: 'replace', format: ContentFormat.TEXT, node: { kind: 'resource', id: 3, type: 'string', value: '' } }, ctx.stepTimeoutMs, `cancel the download on /9/${inst.id}`);
    } else if (st === SwState.DELIVERED) {
      await callOk(ctx.server, endpoint, { kind: 'execute', path: [SW, inst.id, 6] }, ctx.stepTimeoutMs, `Uninstall the delivered package on /9/${inst.id}`);
    } else {
      continue;
    }
    ctx.log.info({ endpoint, instance: inst.id, state: st }, 'stale Software Management instance reset');
  }
}

/** A free Software Management instance: one in INITIAL state, else a new one (Create). */
async function pickInstance(ctx: FlowContext, endpoint: string, instances: ObjectInstance[]): Promise<number> {
  for (const inst of instances) if (value(inst, 7) === SwState.INITIAL) return inst.id;
  const id = instances.reduce((m, i) => Math.max(m, i.id + 1), 0);
  // SenML cannot carry an instance without resources: create it with an empty Package URI,
  // which in INITIAL state means "nothing to download" (Object 9, resource 3)
  const node: LwM2mNode = { kind: 'instance', id, resources: [{ kind: 'resource', id: 3, type: 'string', value: '' }] };
  await callOk(ctx.server, endpoint, { kind: 'create', path: [SW], node }, ctx.stepTimeoutMs, 'create /9 instance');
  // make sure the instance is there and in INITIAL before anything is written to it
  const st = await callOk(ctx.server, endpoint, { kind: 'read', path: [SW, id, 7] }, ctx.stepTimeoutMs, `read /9/${id}/7 after Create`);
  if (st.node?.kind !== 'resource' || st.node.value !== SwState.INITIAL) throw new FlowError('CREATE_FAILED', `/9/${id} is not in INITIAL after Create`);
  return id;
}

/** Activate /9/x and check the result: the ML Model active (modules), or Activation State and PkgVersion. */
async function activateAndConfirm(ctx: FlowContext, endpoint: string, x: number, watchOpts: { timeoutMs: number; pollMs: number; signal?: AbortSignal; follow?: ResourceFollower }): Promise<FlowResult> {
  const exp = ctx.expect!;
  checkAborted(ctx.signal);
  ctx.onStage('activating');
  await callOk(ctx.server, endpoint, { kind: 'execute', path: [SW, x, 10] }, ctx.stepTimeoutMs, 'Activate');
  const activated = await watch(ctx.server, endpoint, [[SW, x, 12]], (v) => (v.get(`/${SW}/${x}/12`) === true ? true : undefined), { ...watchOpts, timeoutMs: Math.min(ctx.stepTimeoutMs, 10_000) })
    .catch(() => false); // activation state may stay false when a model fails: the confirm step says why
  if (exp.kind === 'ml-module' && (await declaresMlModel(ctx, endpoint))) {
    return { modelInstance: await confirmActive(ctx, endpoint, exp.digest), softwareInstance: x };
  }
  ctx.onStage('confirming');
  if (!activated) throw new FlowError('NOT_ACTIVE', `${endpoint}: /9/${x} did not report Activation State true after Activate`);
  if (exp.version !== undefined) {
    const v = await readValue(ctx.server, endpoint, [SW, x, 1], ctx.stepTimeoutMs);
    if (v !== exp.version) throw new FlowError('VERSION_MISMATCH', `${endpoint}: /9/${x}/1 PkgVersion is ${JSON.stringify(v ?? null)}, not ${JSON.stringify(exp.version)}`);
  }
  return { softwareInstance: x };
}

/** Is the package installed already (an earlier attempt got that far)? Its /9 instance, and whether it is active. */
async function alreadyThere(ctx: FlowContext, endpoint: string, instances: ObjectInstance[]): Promise<{ x: number; active: boolean; modelInstance?: number } | undefined> {
  const exp = ctx.expect!;
  if (exp.kind === 'ml-module' && (await declaresMlModel(ctx, endpoint))) {
    const m = await findModel(ctx, endpoint, exp.digest);
    if (!m) return undefined;
    // the ML Model's Software Instance (/32001/x/12) names the /9 instance that installed it
    const link = await readValue(ctx.server, endpoint, [ML_MODEL, m.instance, 12], ctx.stepTimeoutMs).catch(() => undefined);
    const x = link && typeof link === 'object' && 'objectId' in link && link.objectId === SW ? link.instanceId : undefined;
    if (m.state === 1) return { x: x ?? -1, active: true, modelInstance: m.instance };
    if (x !== undefined && instances.some((i) => i.id === x && value(i, 7) === SwState.INSTALLED)) return { x, active: false };
    return undefined;
  }
  if (exp.version === undefined) return undefined;
  const inst = instances.find((i) => value(i, 7) === SwState.INSTALLED && value(i, 1) === exp.version);
  return inst ? { x: inst.id, active: value(inst, 12) === true } : undefined;
}

export async function runSoftwareUpdate(ctx: FlowContext, endpoint: string, pkg: Buffer, mode: 'push' | 'pull'): Promise<FlowResult> {
  const exp = ctx.expect;
  if (!exp) throw new FlowError('NO_PACKAGE', 'no package to deliver');
  const watchOpts = { timeoutMs: ctx.stepTimeoutMs, pollMs: ctx.pollMs, signal: ctx.signal };

  // 1. where the device is: never install the same package twice
  // an interrupted attempt's half-way deliveries go first, whatever else is found
  let instances = await readInstances(ctx, endpoint);
  if (instances.some((i) => { const st = value(i, 7); return st === SwState.DOWNLOAD_STARTED || st === SwState.DOWNLOADED || st === SwState.DELIVERED; })) {
    await resetStale(ctx, endpoint, instances);
    instances = await readInstances(ctx, endpoint);
  }
  const there = await alreadyThere(ctx, endpoint, instances);
  if (there?.active) return { alreadyInstalled: true, modelInstance: there.modelInstance, softwareInstance: there.x >= 0 ? there.x : undefined };
  if (there) return { ...(await activateAndConfirm(ctx, endpoint, there.x, watchOpts)), alreadyInstalled: true };
  const x = await pickInstance(ctx, endpoint, instances);
  checkAborted(ctx.signal);
  const stateP = [SW, x, 7];
  const resultP = [SW, x, 9];
  const activationP = [SW, x, 12];
  const verdict = (want: number) => (v: ReadonlyMap<string, unknown>): true | undefined => {
    const state = v.get(`/${SW}/${x}/7`);
    judge(endpoint, x, state, v.get(`/${SW}/${x}/9`));
    return state === want ? true : undefined;
  };

  // 2. deliver; a 2.04 to the write is not "downloaded and valid": wait for DELIVERED or a failure result
  ctx.onStage('transferring');
  if (mode === 'push') {
    // Block1 writes of 1024-byte blocks, content format 42 (opaque)
    await callOk(ctx.server, endpoint, { kind: 'write', path: [SW, x, 2], mode: 'replace', format: ContentFormat.OPAQUE, node: { kind: 'resource', id: 2, type: 'opaque', value: pkg } }, ctx.stepTimeoutMs, 'write Package');
  } else {
    await callOk(ctx.server, endpoint, { kind: 'write', path: [SW, x, 3], mode: 'replace', format: ContentFormat.TEXT, node: { kind: 'resource', id: 3, type: 'string', value: await ctx.packageUri(exp.digest, endpoint) } }, ctx.stepTimeoutMs, 'write Package URI');
  }
  // State, Update Result and Activation State observed once for delivery, install and activation
  const follow = new ResourceFollower(ctx.server, endpoint, [stateP, resultP, activationP]);
  try {
    await watch(ctx.server, endpoint, [stateP, resultP], verdict(SwState.DELIVERED), { ...watchOpts, follow });

    // 3. install, then activate and confirm
    checkAborted(ctx.signal);
    ctx.onStage('installing');
    await callOk(ctx.server, endpoint, { kind: 'execute', path: [SW, x, 4] }, ctx.stepTimeoutMs, 'Install');
    await watch(ctx.server, endpoint, [stateP, resultP], verdict(SwState.INSTALLED), { ...watchOpts, follow });
    return await activateAndConfirm(ctx, endpoint, x, { ...watchOpts, follow });
  } finally {
    follow.close();
  }
}

/** After a failure or an abort: instances left half-way go back to INITIAL (best effort). */
export async function settleSoftwareAfterFailure(ctx: FlowContext, endpoint: string): Promise<void> {
  const r = await call(ctx.server, endpoint, { kind: 'read', path: [SW] }, ctx.stepTimeoutMs);
  if (r.success) await resetStale(ctx, endpoint, instancesOf(r.node));
}
