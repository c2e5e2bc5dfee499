// What `--workers N` cannot run with, as one clear sentence each (main.ts turns it into a usage error).
export type WorkerFlagValues = {
  store?: string;
  'node-id'?: string;
  'coaps-port'?: string;
  'psk-file'?: string;
  'no-plain'?: boolean;
  'bootstrap-port'?: string;
  'bootstrap-coaps-port'?: string;
  demo?: boolean;
};

export function workerFlagProblem(v: WorkerFlagValues): string | undefined {
  // each worker is a node of its own: what one worker accepts, the others must see
  if (!v.store?.startsWith('redis://')) return '--workers needs the shared store: --store redis://host:port (each worker is a cluster node)';
  // the worker ids are <node-id>-w<slot>, within the 64 characters of a node id
  if (v['node-id'] !== undefined && !/^[A-Za-z0-9_.-]{1,60}$/.test(v['node-id'])) return '--node-id with --workers: 1-60 characters of A-Z a-z 0-9 _ . - (workers add -w<slot>)';
  // a DTLS session and a bootstrap sequence are per-peer state on further sockets: not carried by the affinity layer yet
  if (v['coaps-port'] !== undefined || v['psk-file'] !== undefined || v['no-plain']) return '--workers serves plain CoAP only for now: run DTLS (--coaps-port, --psk-file, --no-plain) without --workers';
  if (v['bootstrap-port'] !== undefined || v['bootstrap-coaps-port'] !== undefined) return '--workers does not run the Bootstrap-Server: run it in a process of its own (--bootstrap-port without --workers)';
  // the demo fleet's UDP sockets would be shared between the workers by the cluster module
  if (v.demo) return '--demo runs one process: drop --workers';
  return undefined;
}
