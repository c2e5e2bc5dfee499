// One worker of `--workers N` (forked by src/cluster/worker-pool.ts): a full cluster node of its own
// (node id `<node>-w<slot>`) whose CoAP socket is the primary's, shared through the cluster module,
// under an AffinityTransport so each device's datagrams are handled by one worker.
import cluster from 'node:cluster';
import { AffinityTransport } from '../coap/affinity-transport.ts';
import { UdpTransport } from '../coap/transport.ts';
import { WORKER_ENV, type PrimaryToWorker, type WorkerToPrimary } from './worker-messages.ts';

export type WorkerRole = { slot: number; slots: number; nodeId: string };

/** This process's role when the primary forked it; undefined in a process started by hand. */
export function workerRole(): WorkerRole | undefined {
  if (!cluster.isWorker) return undefined;
  const slot = Number(process.env[WORKER_ENV.slot]);
  const slots = Number(process.env[WORKER_ENV.slots]);
  const nodeId = process.env[WORKER_ENV.nodeId];
  if (!Number.isInteger(slot) || !Number.isInteger(slots) || slot < 0 || slot >= slots || !nodeId) {
    throw new Error(`a --workers worker needs ${WORKER_ENV.slot}, ${WORKER_ENV.slots} and ${WORKER_ENV.nodeId} from its primary`);
  }
  return { slot, slots, nodeId };
}

function tell(m: WorkerToPrimary): void {
  process.send?.(m);
}

/**
 * The shared UDP socket (bound through the primary: same port in every worker) under the affinity
 * layer. The relay table arrives from the primary whenever a worker starts or stops.
 */
export async function openWorkerTransport(role: WorkerRole, opts: { host: string; port: number }): Promise<AffinityTransport> {
  // not exclusive: the cluster module binds it in the primary and hands every worker the handle
  const shared = await UdpTransport.open({ host: opts.host, port: opts.port, recvBufferSize: 8 * 1024 * 1024, sendBufferSize: 4 * 1024 * 1024 });
  const transport = await AffinityTransport.open(shared, role.slot, role.slots);
  process.on('message', (m: PrimaryToWorker) => {
    if (m?.type === 'relays' && Array.isArray(m.ports)) transport.setRelays(m.ports);
    if (m?.type === 'stats') tell({ type: 'stats', affinity: { ...transport.stats } });
  });
  tell({ type: 'relay', port: transport.relayPort });
  return transport;
}

export function reportWorkerReady(coap: { address: string; port: number }, http: string): void {
  tell({ type: 'ready', coap, http });
}
