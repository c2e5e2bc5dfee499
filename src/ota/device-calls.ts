// What update flows need from the server: a DM call that also waits for queued requests
// (queue-mode devices), one-value reads, and watching resources by observe with a read fallback
// (LWM2M-NOTES: follow State and Update Result by observe, with reads as a fallback).
import type { ServerEvent } from '../events/server-event.ts';
import type { ResourceValue } from '../lwm2m/node.ts';
import { formatPath, type LwM2mPath } from '../lwm2m/path.ts';
import { RequestError, type DownlinkRequest, type DownlinkResult } from '../request/downlink-request.ts';
import type { LwM2mServer } from '../server.ts';
import { FlowObservations } from './flow-observations.ts';

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
    const off = server.events.on((e) => {
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

export type WatchOptions = { timeoutMs: number; pollMs: number; signal?: AbortSignal; observe?: boolean };

/**
 * Watches resource values until `evaluate` returns a verdict. Values come from notifications
 * (the paths are observed when `observe`) and from reads every pollMs; a read that fails
 * (the device reboots) is simply tried again at the next poll.
 */
export async function watch<T>(
  server: LwM2mServer, endpoint: string, paths: LwM2mPath[],
  evaluate: (values: ReadonlyMap<string, ResourceValue>) => T | undefined, opts: WatchOptions,
): Promise<T> {
  const values = new Map<string, ResourceValue>();
  const keys = new Set(paths.map(formatPath));
  let observations: FlowObservations | undefined;
  let settled = false;
  return new Promise<T>((resolve, reject) => {
    const done = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poller);
      off();
      opts.signal?.removeEventListener('abort', onAbort);
      // the flow's observations end with it, on the device too (RFC 7641 §3.6: GET with Observe=1)
      observations?.close();
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
    const onEvent = (e: ServerEvent): void => {
      // the device is back (a reboot, a new port): read now, not after a read still waiting on the old address
      if ((e.type === 'registration' || e.type === 'update') && e.registration.endpoint === endpoint) {
        void poll(true);
        return;
      }
      if (e.type !== 'notification' || e.endpoint !== endpoint || !keys.has(e.path) || !e.node) return;
      if (e.node.kind === 'resource' || e.node.kind === 'resourceInstance') {
        values.set(e.path, e.node.value);
        check();
      }
    };
    const off = server.events.on(onEvent);
    const onAbort = (): void => done(() => reject(new FlowError('ABORTED', 'the deployment was aborted')));
    opts.signal?.addEventListener('abort', onAbort);
    const timer = setTimeout(() => done(() => reject(new FlowError('TIMEOUT', `no verdict from ${endpoint} on ${[...keys].join(', ')} within ${opts.timeoutMs} ms`))), opts.timeoutMs);
    let polling = false;
    let missing = 0;
    const poll = async (force = false): Promise<void> => {
      if ((polling && !force) || settled) return;
      polling = true;
      try {
        for (const p of paths) {
          const r = await call(server, endpoint, { kind: 'read', path: p }, opts.pollMs * 4).catch(() => undefined);
          if (r?.success && r.node && (r.node.kind === 'resource' || r.node.kind === 'resourceInstance')) values.set(formatPath(p), r.node.value);
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
    const poller = setInterval(() => void poll(), opts.pollMs);
    if (opts.observe !== false) {
      // observed for as long as the watch runs, again after a new registration (flow-observations.ts)
      observations = new FlowObservations(server, endpoint, paths, (p, node) => {
        if (settled || (node.kind !== 'resource' && node.kind !== 'resourceInstance')) return;
        values.set(formatPath(p), node.value);
        check();
      });
    } else {
      void poll();
    }
  });
}
