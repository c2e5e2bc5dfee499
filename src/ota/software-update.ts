// SOTA over LwM2M Object 9, Software Management (LwM2M 1.1 registry, Object 9 v1.1):
// deliver (push: Write Package /9/x/2 block-wise; pull: Write Package URI /9/x/3), then
// Install (/9/x/4) and Activate (/9/x/10), following Update State (7), Update Result (9)
// and Activation State (12).
import { ContentFormat } from '../lwm2m/content-format.ts';
import type { LwM2mNode } from '../lwm2m/node.ts';
import { callOk, checkAborted, FlowError, watch } from './device-calls.ts';
import { confirmActive, instancesOf, type FlowContext, type FlowResult } from './update-flow.ts';

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

/** A free Software Management instance: one in INITIAL state, else a new one (Create). */
async function pickInstance(ctx: FlowContext, endpoint: string): Promise<number> {
  const r = await callOk(ctx.server, endpoint, { kind: 'read', path: [SW] }, ctx.stepTimeoutMs, 'read /9');
  const instances = instancesOf(r.node);
  for (const inst of instances) {
    const st = inst.resources.find((x) => x.id === 7);
    if (st?.kind === 'resource' && st.value === SwState.INITIAL) return inst.id;
  }
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

export async function runSoftwareUpdate(ctx: FlowContext, endpoint: string, digest: string, pkg: Buffer, mode: 'push' | 'pull'): Promise<FlowResult> {
  const x = await pickInstance(ctx, endpoint);
  checkAborted(ctx.signal);
  const stateP = [SW, x, 7];
  const resultP = [SW, x, 9];
  const watchOpts = { timeoutMs: ctx.stepTimeoutMs, pollMs: ctx.pollMs, signal: ctx.signal };
  const verdict = (want: number) => (v: ReadonlyMap<string, unknown>): true | undefined => {
    const state = v.get(`/${SW}/${x}/7`);
    const result = v.get(`/${SW}/${x}/9`);
    if (state === want) return true;
    if (typeof result === 'number' && result >= 50) throw new FlowError(`SW_RESULT_${result}`, `${endpoint}: ${softwareResultText(result)} (result ${result})`);
    return undefined;
  };

  ctx.onStage('transferring');
  if (mode === 'push') {
    // Block1 writes of 1024-byte blocks, content format 42 (opaque)
    await callOk(ctx.server, endpoint, { kind: 'write', path: [SW, x, 2], mode: 'replace', format: ContentFormat.OPAQUE, node: { kind: 'resource', id: 2, type: 'opaque', value: pkg } }, ctx.stepTimeoutMs, 'write Package');
  } else {
    await callOk(ctx.server, endpoint, { kind: 'write', path: [SW, x, 3], mode: 'replace', format: ContentFormat.TEXT, node: { kind: 'resource', id: 3, type: 'string', value: await ctx.packageUri(digest, endpoint) } }, ctx.stepTimeoutMs, 'write Package URI');
  }
  // a 2.04 to the write is not "downloaded and valid": wait for DELIVERED or a failure result
  await watch(ctx.server, endpoint, [stateP, resultP], verdict(SwState.DELIVERED), watchOpts);

  checkAborted(ctx.signal);
  ctx.onStage('installing');
  await callOk(ctx.server, endpoint, { kind: 'execute', path: [SW, x, 4] }, ctx.stepTimeoutMs, 'Install');
  await watch(ctx.server, endpoint, [stateP, resultP], verdict(SwState.INSTALLED), watchOpts);

  checkAborted(ctx.signal);
  ctx.onStage('activating');
  await callOk(ctx.server, endpoint, { kind: 'execute', path: [SW, x, 10] }, ctx.stepTimeoutMs, 'Activate');
  const modelInstance = await watch(ctx.server, endpoint, [[SW, x, 12]], (v) => (v.get(`/${SW}/${x}/12`) === true ? true : undefined), { ...watchOpts, timeoutMs: Math.min(ctx.stepTimeoutMs, 10_000) })
    .catch(() => undefined) // activation state may stay false when the model fails: the confirm step says why
    .then(() => confirmActive(ctx, endpoint, digest));
  return { modelInstance, softwareInstance: x };
}
