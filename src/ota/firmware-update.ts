// FOTA over LwM2M Object 5, Firmware Update (LwM2M 1.1 TS Core E.6), for any device: read the
// device's state first (already running the package: done, nothing delivered; left in Downloaded
// or Downloading: reset), deliver as the device supports it (/5/0/9, /5/0/8), wait for State 2,
// Execute Update, wait for the device to register again (or update) and report State 0 with
// Update Result 1; then the version (/5/0/7 or /3/0/3) must be the package's, and for an ML module
// on a device with /32001 the module must be active. Any failure Result ends the update at once.
import { ContentFormat } from '../lwm2m/content-format.ts';
import type { ObjectInstance, ResourceValue } from '../lwm2m/node.ts';
import { call, callOk, checkAborted, FlowError, readValue, watch } from './device-calls.ts';
import { onEndpointEvent } from './endpoint-signals.ts';
import { confirmActive, declaresMlModel, type FlowContext, type FlowResult } from './update-flow.ts';

const FW = 5;
export const FwState = { IDLE: 0, DOWNLOADING: 1, DOWNLOADED: 2, UPDATING: 3 } as const;
const RESULT_NAMES: Record<number, string> = {
  2: 'not enough flash memory', 3: 'out of RAM during download', 4: 'connection lost during download', 5: 'integrity check failure',
  6: 'unsupported package type', 7: 'invalid URI', 8: 'firmware update failed', 9: 'unsupported protocol',
  10: 'firmware update cancelled', 11: 'firmware update deferred',
};
/** Object 5 (v1.0 in the 1.1 registry; 10 and 11 come with v1.1): State 0..3, Update Result 0..11 */
const MAX_STATE = 3;
const MAX_RESULT = 11;

export function firmwareResultText(result: number): string {
  return RESULT_NAMES[result] ?? `update result ${result}`;
}

/** /5/0/9 Firmware Update Delivery Method: 0 pull only, 1 push only, 2 both. */
const DELIVERY = { PULL: 0, PUSH: 1, BOTH: 2 } as const;
/** /5/0/8 Firmware Update Protocol Support: 0 CoAP (RFC 7252) is what our package server speaks. */
const PROTOCOL_COAP = 0;

export type FirmwareStatus = { state?: number; result?: number; pkgVersion?: string; delivery?: number; protocols?: number[] };

function single(inst: ObjectInstance, id: number): ResourceValue | undefined {
  const r = inst.resources.find((x) => x.id === id);
  return r?.kind === 'resource' ? r.value : undefined;
}

/** Reads /5/0 at once: State, Update Result, PkgVersion, Delivery Method, Protocol Support. */
export async function readFirmwareStatus(ctx: FlowContext, endpoint: string): Promise<FirmwareStatus> {
  const r = await call(ctx.server, endpoint, { kind: 'read', path: [FW, 0] }, ctx.stepTimeoutMs);
  if (!r.success) {
    if (r.code === '4.04') throw new FlowError('NO_FIRMWARE_UPDATE', `${endpoint} has no Firmware Update object (/5/0): it cannot take firmware`);
    throw new FlowError('DEVICE_REFUSED', `read /5/0: the device answered ${r.code}`);
  }
  const inst = r.node?.kind === 'instance' ? r.node : r.node?.kind === 'object' ? r.node.instances[0] : undefined;
  if (!inst) throw new FlowError('BAD_RESPONSE', `${endpoint}: /5/0 did not read as an instance`);
  const num = (v: ResourceValue | undefined): number | undefined => (typeof v === 'number' ? v : undefined);
  const protocols = inst.resources.find((x) => x.id === 8);
  const pkgVersion = single(inst, 7);
  return {
    state: num(single(inst, 3)), result: num(single(inst, 5)), pkgVersion: typeof pkgVersion === 'string' ? pkgVersion : undefined,
    delivery: num(single(inst, 9)),
    protocols: protocols?.kind === 'multiResource' ? Object.values(protocols.values).filter((v): v is number => typeof v === 'number') : protocols?.kind === 'resource' && typeof protocols.value === 'number' ? [protocols.value] : undefined,
  };
}

/**
 * Ends the flow for values the object does not allow, and for any failure Update Result, in any
 * State (E.6: a failed Update may leave State 2 with Result 8; a failed download State 0 with 2..9).
 */
function judge(endpoint: string, state: unknown, result: unknown): void {
  if (state !== undefined && (typeof state !== 'number' || !Number.isInteger(state) || state < 0 || state > MAX_STATE)) {
    throw new FlowError('BAD_STATE', `${endpoint} reports Firmware Update State ${String(state)}, outside 0..${MAX_STATE} (/5/0/3)`);
  }
  if (result !== undefined && (typeof result !== 'number' || !Number.isInteger(result) || result < 0 || result > MAX_RESULT)) {
    throw new FlowError('BAD_RESULT', `${endpoint} reports Update Result ${String(result)}, outside 0..${MAX_RESULT} (/5/0/5)`);
  }
  if (typeof result === 'number' && result >= 2) throw new FlowError(`FW_RESULT_${result}`, `${endpoint}: ${firmwareResultText(result)} (Update Result ${result}, State ${String(state)})`);
}

/** Does the device run the expected package now? Version from /5/0/7 or /3/0/3; modules by /32001. */
async function runsPackage(ctx: FlowContext, endpoint: string, st: FirmwareStatus): Promise<number | true | false> {
  const exp = ctx.expect!;
  if (exp.kind === 'ml-module' && (await declaresMlModel(ctx, endpoint))) {
    const m = await confirmActive({ ...ctx, onStage: () => undefined }, endpoint, exp.digest).catch(() => undefined);
    return m ?? false;
  }
  if (exp.version === undefined) return false;
  if (st.pkgVersion === exp.version) return true;
  return (await readValue(ctx.server, endpoint, [3, 0, 3], ctx.stepTimeoutMs).catch(() => undefined)) === exp.version;
}

/** E.6: an empty Package URI (or an empty Package) takes Downloading or Downloaded back to Idle. */
export async function resetFirmwareUpdate(ctx: FlowContext, endpoint: string, delivery: number | undefined): Promise<void> {
  const req = delivery === DELIVERY.PUSH
    ? { kind: 'write' as const, path: [FW, 0, 0], mode: 'replace' as const, format: ContentFormat.OPAQUE, node: { kind: 'resource' as const, id: 0, type: 'opaque' as const, value: new Uint8Array(0) } }
    : { kind: 'write' as const, path: [FW, 0, 1], mode: 'replace' as const, format: ContentFormat.TEXT, node: { kind: 'resource' as const, id: 1, type: 'string' as const, value: '' } };
  await callOk(ctx.server, endpoint, req, ctx.stepTimeoutMs, 'reset Firmware Update (empty package)');
}

/** Push or pull, as the device can take it (/5/0/9, /5/0/8) and the policy allows. */
function chooseDelivery(ctx: FlowContext, endpoint: string, wanted: 'push' | 'pull', st: FirmwareStatus): 'push' | 'pull' {
  const canPull = st.delivery !== DELIVERY.PUSH && (st.protocols === undefined || st.protocols.length === 0 || st.protocols.includes(PROTOCOL_COAP));
  const canPush = st.delivery !== DELIVERY.PULL;
  if (wanted === 'pull' && canPull) return 'pull';
  if (wanted === 'push' && canPush) return 'push';
  const why = wanted === 'pull'
    ? (st.delivery === DELIVERY.PUSH ? 'the device takes pushed firmware only (/5/0/9 = 1)' : `the device cannot pull over CoAP (/5/0/8 = [${st.protocols?.join(', ')}])`)
    : 'the device pulls its firmware only (/5/0/9 = 0)';
  const other = wanted === 'pull' ? 'push' : 'pull';
  if (ctx.deliveryFallback === 'refuse' || (other === 'pull' && !canPull) || (other === 'push' && !canPush)) {
    throw new FlowError('DELIVERY_UNSUPPORTED', `${endpoint}: ${wanted} refused: ${why}`);
  }
  ctx.onNote?.(`${wanted} switched to ${other}: ${why}`);
  return other;
}

export async function runFirmwareUpdate(ctx: FlowContext, endpoint: string, pkg: Buffer, wanted: 'push' | 'pull'): Promise<FlowResult> {
  const exp = ctx.expect;
  if (!exp) throw new FlowError('NO_PACKAGE', 'no package to deliver');
  const stateP = [FW, 0, 3];
  const resultP = [FW, 0, 5];
  const watchOpts = { timeoutMs: ctx.stepTimeoutMs, pollMs: ctx.pollMs, signal: ctx.signal };

  // 1. where the device is: a retry or a resumed rollout never flashes a package twice
  let st = await readFirmwareStatus(ctx, endpoint);
  if (st.state === FwState.UPDATING) {
    // an Update under way (an attempt the server lost track of): let it end, then judge again
    await watch(ctx.server, endpoint, [stateP], (v) => (v.get('/5/0/3') !== undefined && v.get('/5/0/3') !== FwState.UPDATING ? true : undefined), { ...watchOpts, observe: false });
    st = await readFirmwareStatus(ctx, endpoint);
  }
  if (st.state === FwState.IDLE && st.result === 1) {
    const runs = await runsPackage(ctx, endpoint, st);
    if (runs !== false) return { alreadyInstalled: true, modelInstance: typeof runs === 'number' ? runs : undefined };
  }
  const mode = chooseDelivery(ctx, endpoint, wanted, st);
  // 2. a device left in Downloading or Downloaded (or with a failure Result) takes no new package: reset it
  if (st.state !== FwState.IDLE || (st.result !== undefined && st.result >= 2)) {
    await resetFirmwareUpdate(ctx, endpoint, mode === 'push' ? DELIVERY.PUSH : DELIVERY.PULL);
    await watch(ctx.server, endpoint, [stateP], (v) => (v.get('/5/0/3') === FwState.IDLE ? true : undefined), { ...watchOpts, observe: false });
  }
  checkAborted(ctx.signal);

  // 3. deliver; a 2.04 to the write is not "downloaded and valid" (the device verifies after the last block)
  ctx.onStage('transferring');
  if (mode === 'push') {
    await callOk(ctx.server, endpoint, { kind: 'write', path: [FW, 0, 0], mode: 'replace', format: ContentFormat.OPAQUE, node: { kind: 'resource', id: 0, type: 'opaque', value: pkg } }, ctx.stepTimeoutMs, 'write Package');
  } else {
    await callOk(ctx.server, endpoint, { kind: 'write', path: [FW, 0, 1], mode: 'replace', format: ContentFormat.TEXT, node: { kind: 'resource', id: 1, type: 'string', value: await ctx.packageUri(exp.digest, endpoint) } }, ctx.stepTimeoutMs, 'write Package URI');
  }
  await watch(ctx.server, endpoint, [stateP, resultP], (v) => {
    judge(endpoint, v.get('/5/0/3'), v.get('/5/0/5'));
    return v.get('/5/0/3') === FwState.DOWNLOADED ? true : undefined;
  }, watchOpts);

  // 4. Update; the device reboots (a new registration, maybe from a new port) or sends an Update
  checkAborted(ctx.signal);
  ctx.onStage('updating');
  const before = await ctx.server.registrations.byEndpoint(endpoint);
  let back = false;
  const off = onEndpointEvent(ctx.server, endpoint, (e) => {
    if ((e.type === 'registration' && e.registration.endpoint === endpoint && e.registration.id !== before?.id) || (e.type === 'update' && e.registration.endpoint === endpoint)) back = true;
  });
  try {
    // Execute Update may answer 4.05 when State is not Downloaded (LWM2M-NOTES)
    await callOk(ctx.server, endpoint, { kind: 'execute', path: [FW, 0, 2] }, ctx.stepTimeoutMs, 'Update');
    await watch(ctx.server, endpoint, [stateP, resultP], (v) => {
      judge(endpoint, v.get('/5/0/3'), v.get('/5/0/5'));
      // E.6: success is State 0 with Update Result 1, reported once the device is back
      return back && v.get('/5/0/3') === FwState.IDLE && v.get('/5/0/5') === 1 ? true : undefined;
    }, { ...watchOpts, observe: false });
  } finally {
    off();
  }

  // 5. the device runs what we sent
  ctx.onStage('confirming');
  if (exp.kind === 'ml-module' && (await declaresMlModel(ctx, endpoint))) {
    return { modelInstance: await confirmActive(ctx, endpoint, exp.digest), delivery: mode };
  }
  if (exp.version !== undefined) {
    const after = await readFirmwareStatus(ctx, endpoint);
    const fwVersion = after.pkgVersion === exp.version ? after.pkgVersion : await readValue(ctx.server, endpoint, [3, 0, 3], ctx.stepTimeoutMs).catch(() => undefined);
    if (after.pkgVersion !== exp.version && fwVersion !== exp.version) {
      throw new FlowError('VERSION_MISMATCH', `${endpoint} reports success but runs ${JSON.stringify(after.pkgVersion ?? fwVersion ?? null)} (/5/0/7, /3/0/3), not ${JSON.stringify(exp.version)}`);
    }
  }
  return { delivery: mode };
}

/** After a failure or an abort: leave the state machine in Idle so the next package is taken (best effort). */
export async function settleFirmwareAfterFailure(ctx: FlowContext, endpoint: string): Promise<void> {
  const st = await readFirmwareStatus(ctx, endpoint);
  if (st.state === FwState.DOWNLOADING || st.state === FwState.DOWNLOADED) await resetFirmwareUpdate(ctx, endpoint, st.delivery);
}
