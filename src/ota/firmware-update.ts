// FOTA over LwM2M Object 5, Firmware Update (LwM2M 1.1 TS Core E.6): deliver (push: Write
// Package /5/0/0 block-wise; pull: Write Package URI /5/0/1), wait for State 2 Downloaded,
// Execute Update /5/0/2, then the device reboots and registers again; State 0 with Update
// Result 1 means success (LWM2M-NOTES).
import { ContentFormat } from '../lwm2m/content-format.ts';
import { callOk, checkAborted, FlowError, watch } from './device-calls.ts';
import { confirmActive, type FlowContext, type FlowResult } from './update-flow.ts';

const FW = 5;
export const FwState = { IDLE: 0, DOWNLOADING: 1, DOWNLOADED: 2, UPDATING: 3 } as const;
const RESULT_NAMES: Record<number, string> = {
  2: 'not enough flash memory', 3: 'out of RAM during download', 4: 'connection lost during download', 5: 'integrity check failure',
  6: 'unsupported package type', 7: 'invalid URI', 8: 'firmware update failed', 9: 'unsupported protocol',
};

export function firmwareResultText(result: number): string {
  return RESULT_NAMES[result] ?? `update result ${result}`;
}

export async function runFirmwareUpdate(ctx: FlowContext, endpoint: string, digest: string, pkg: Buffer, mode: 'push' | 'pull'): Promise<FlowResult> {
  const stateP = [FW, 0, 3];
  const resultP = [FW, 0, 5];
  const watchOpts = { timeoutMs: ctx.stepTimeoutMs, pollMs: ctx.pollMs, signal: ctx.signal };
  const failed = (v: ReadonlyMap<string, unknown>): void => {
    const r = v.get('/5/0/5');
    if (v.get('/5/0/3') === FwState.IDLE && typeof r === 'number' && r > 1) throw new FlowError(`FW_RESULT_${r}`, `${endpoint}: ${firmwareResultText(r)} (result ${r})`);
  };

  ctx.onStage('transferring');
  if (mode === 'push') {
    await callOk(ctx.server, endpoint, { kind: 'write', path: [FW, 0, 0], mode: 'replace', format: ContentFormat.OPAQUE, node: { kind: 'resource', id: 0, type: 'opaque', value: pkg } }, ctx.stepTimeoutMs, 'write Package');
  } else {
    await callOk(ctx.server, endpoint, { kind: 'write', path: [FW, 0, 1], mode: 'replace', format: ContentFormat.TEXT, node: { kind: 'resource', id: 1, type: 'string', value: await ctx.packageUri(digest, endpoint) } }, ctx.stepTimeoutMs, 'write Package URI');
  }
  await watch(ctx.server, endpoint, [stateP, resultP], (v) => {
    failed(v);
    return v.get('/5/0/3') === FwState.DOWNLOADED ? true : undefined;
  }, watchOpts);

  checkAborted(ctx.signal);
  ctx.onStage('updating');
  const before = await ctx.server.registrations.byEndpoint(endpoint);
  // Execute Update may answer 4.05 when State is not Downloaded (LWM2M-NOTES)
  await callOk(ctx.server, endpoint, { kind: 'execute', path: [FW, 0, 2] }, ctx.stepTimeoutMs, 'Update');
  // the device reboots: wait for it to register again, then for State 0 / Result 1
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new FlowError('TIMEOUT', `${endpoint} did not register again within ${ctx.stepTimeoutMs} ms after Update`));
    }, ctx.stepTimeoutMs);
    const off = ctx.server.events.on((e) => {
      if ((e.type === 'registration' && e.registration.endpoint === endpoint && e.registration.id !== before?.id) || (e.type === 'update' && e.registration.endpoint === endpoint)) {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  });
  await watch(ctx.server, endpoint, [stateP, resultP], (v) => {
    failed(v);
    return v.get('/5/0/3') === FwState.IDLE && v.get('/5/0/5') === 1 ? true : undefined;
  }, { ...watchOpts, observe: false });
  const modelInstance = await confirmActive(ctx, endpoint, digest);
  return { modelInstance };
}
