// What the primary and its workers tell each other over the cluster module's IPC channel (--workers).
import type { AffinityStats } from '../coap/affinity-transport.ts';

/** environment of a forked worker: its slot, how many slots, its node id (`<node>-w<slot>`) */
export const WORKER_ENV = { slot: 'TINYMLAAS_WORKER_SLOT', slots: 'TINYMLAAS_WORKERS', nodeId: 'TINYMLAAS_WORKER_NODE' } as const;

export type WorkerToPrimary =
  /** the worker's relay socket is bound (it can take relayed datagrams from now on) */
  | { type: 'relay'; port: number }
  /** the worker serves CoAP and HTTP */
  | { type: 'ready'; coap: { address: string; port: number }; http: string }
  | { type: 'stats'; affinity: AffinityStats };

export type PrimaryToWorker =
  /** every slot's relay port; null while that slot's worker is not running */
  | { type: 'relays'; ports: (number | null)[] }
  | { type: 'stats' };

export function isWorkerMessage(m: unknown): m is WorkerToPrimary {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
