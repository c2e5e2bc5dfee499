// What update flows need from the server: a DM call that also waits for queued requests
// (queue-mode devices), one-value reads, and watching resources by observe with a read fallback
// (LWM2M-NOTES: follow State and Update Result by observe, with reads as a fallback).
import type { ResourceValue } from '../lwm2m/node.ts';
import { formatPath, type LwM2mPath } from '../lwm2m/path.ts';
import { RequestError, type DownlinkRequest, type DownlinkResult } from '../request/downlink-request.ts';
import type { LwM2mServer } from '../server.ts';
import { onEndpointEvent } from './endpoint-signals.ts';
import { ResourceFollower } from './resource-follower.ts';

export class FlowError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export function checkAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new FlowError('ABORTED', 'the deployment was aborted');
}

/** Sends a request; for a sleeping queue-mode device, waits until the queued request is done. */
export async function call(server: LwM2mServer, endpoint: string, req: DownlinkRequest, timeoutMs: number): Promise<DownlinkResult> {
  // the flow's own limit bounds the exchange too: a dead device fails within the step, not after the CoAP default
  const out = await server.request(endpoint, { ...req, timeoutMs: req.timeoutMs ?? timeoutMs });
  if (!out.queued) return out.result;
  const id = out.request.id;
  return new Promise((resolve, reject) => {
    const finish = (): void => {
      const q = server.queue.get(id);
      if (q?.status === 'done' && q.result) resolve(q.result);
      else reject(new RequestError((q?.error?.code as 'DEVICE_TIMEOUT') ?? 'DEVICE_TIMEOUT', q?.error?.message ?? 'queued request failed'));
    };
    const timer = setTimeout(() => {
      off();
      reject(new RequestError('DEVICE_TIMEOUT', `${endpoint} did not wake up within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = onEndpointEvent(server, endpoint, (e) => {
      if (e.type === 'request' && e.requestId === id && (e.status === 'done' || e.status === 'failed')) {
        clearTimeout(timer);
        off();
        finish();
      }
    });
  });
}

/** Fails with FlowError unless the device answered with success. */
export async function callOk(server: LwM2mServer, endpoint: string, req: DownlinkRequest, timeoutMs: number, what: string): Promise<DownlinkResult> {
  const r = await call(server, endpoint, req, timeoutMs);
  if (!r.success) throw new FlowError('DEVICE_REFUSED', `${what}: the device answered ${r.code}${r.message ? ` (${r.message})` : ''}`);
  return r;
}

export async function readValue(server: LwM2mServer, endpoint: string, path: LwM2mPath, timeoutMs: number): Promise<ResourceValue | undefined> {
  const r = await call(server, endpoint, { kind: 'read', path }, timeoutMs);
  if (!r.success || !r.node) return undefined;
  return r.node.kind === 'resource' || r.node.kind === 'resourceInstance' ? r.node.value : undefined;
}

export type WatchOptions = {
  timeoutMs: number; pollMs: number; signal?: AbortSignal; observe?: boolean;
  /** values (and observations) a flow keeps across several watches; the watch then neither opens nor closes any */
  follow?: ResourceFollower;
};

/**
 * While every path is observed, reads come this many times less often: notifications carry each
 * change, and a read per path every pollMs from each of 2,000 devices in flight would be most of
 * the server's traffic. They stay as the safety net (LWM2M-NOTES: observe, with reads as a fallback).
 */
const OBSERVED_POLL_FACTOR = 5;

/**
 * Watches resource values until `evaluate` returns a verdict. Values come from notifications
 * (the paths are observed when `observe`) and from reads every pollMs (every pollMs × 5 while each
 * path is observed); a read that fails (the device reboots) is simply tried again at the next poll.
 */
export async function watch<T>(
  server: LwM2mServer, endpoint: string, paths: LwM2mPath[],
  evaluate: (values: ReadonlyMap<string, ResourceValue>) => T | undefined, opts: WatchOptions,
): Promise<T> {
  const follower = opts.follow ?? new ResourceFollower(server, endpoint, paths, opts.observe !== false);
  const values = follower.values;
  let settled = false;
  return new Promise<T>((resolve, reject) => {
    const done = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(poller);
      off();
      offValues();
      opts.signal?.removeEventListener('abort', onAbort);
      // the watch's own observations end with it, on the device too (RFC 7641 §3.6: GET with Observe=1)
      if (!opts.follow) follower.close();
      fn();
    };
    const check = (): void => {
      try {
        const v = evaluate(values);
        if (v !== undefined) done(() => resolve(v));
      } catch (e) {
        done(() => reject(e));
      }
    };
    const off = onEndpointEvent(server, endpoint, (e) => {
      // the device is back (a reboot, a new port): read now, not after a read still waiting on the old address
      if (e.type === 'registration' || e.type === 'update') void poll(true);
    });
    const offValues = follower.onChange(check);
    const onAbort = (): void => done(() => reject(new FlowError('ABORTED', 'the deployment was aborted')));
    opts.signal?.addEventListener('abort', onAbort);
    const timer = setTimeout(() => done(() => reject(new FlowError('TIMEOUT', `no verdict from ${endpoint} on ${paths.map(formatPath).join(', ')} within ${opts.timeoutMs} ms`))), opts.timeoutMs);
    let polling = false;
    let missing = 0;
    const poll = async (force = false): Promise<void> => {
      if ((polling && !force) || settled) return;
      polling = true;
      try {
        for (const p of paths) {
          const r = await call(server, endpoint, { kind: 'read', path: p }, opts.pollMs * 4).catch(() => undefined);
          if (settled) return;
          if (r?.success && r.node) follower.take(formatPath(p), r.node);
          // a resource the device says is not there will not change by itself: fail, do not wait for the timeout
          if (r && r.code === '4.04') {
            if (++missing >= 3) {
              done(() => reject(new FlowError('NOT_FOUND', `${endpoint} has no ${formatPath(p)} (4.04)`)));
              return;
            }
          } else if (r?.success) {
            missing = 0;
          }
        }
        check();
      } finally {
        polling = false;
      }
    };
    // one timer, re-armed after each round: the period depends on whether every path is observed now
    let poller: NodeJS.Timeout | undefined;
    const schedule = (): void => {
      if (settled) return;
      poller = setTimeout(() => {
        void poll().finally(schedule);
      }, follower.observingAll ? opts.pollMs * OBSERVED_POLL_FACTOR : opts.pollMs);
    };
    schedule();
    // values a shared follower already holds may decide at once; without observations, read now
    if (opts.follow) check();
    if (opts.observe === false && !opts.follow) void poll();
  });
}
