// `--workers N`, the primary's part of main.ts: start the pool, say so once every worker serves, and
// on SIGTERM/SIGINT drain the workers and exit with their verdict.
import cluster from 'node:cluster';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { generateSigningKey } from '../signing/signing-key.ts';
import { WorkerPool } from './worker-pool.ts';

/** Resolves, once all workers serve, with the handler for the stop signals. */
export async function runWorkerPrimary(opts: { workers: number; nodeId: string; log: Logger; drainMs: number; signingKeyGiven: boolean }): Promise<(signal: NodeJS.Signals) => void> {
  const { log } = opts;
  // without --signing-key or --data-dir every process would make a key of its own: the workers of
  // one server sign with one key, this run's, handed to each as --signing-key (a 0600 file)
  let keyDir: string | undefined;
  if (!opts.signingKeyGiven) {
    keyDir = mkdtempSync(path.join(os.tmpdir(), 'tinymlaas-workers-'));
    const file = path.join(keyDir, 'signing-key.pem');
    const key = generateSigningKey();
    writeFileSync(file, key.privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    cluster.setupPrimary({ args: [...process.argv.slice(2), '--signing-key', file] });
    log.warn({ keyId: key.keyId }, 'package signing key made for this run only (no --data-dir or --signing-key): devices provisioned with it will refuse packages signed after a restart');
  }
  const removeKey = (): void => {
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
  };
  // a worker's own shutdown ends within drainMs + 5 s (main.ts): kill it only after that
  const { pool, ready } = await WorkerPool.start({ workers: opts.workers, nodeId: opts.nodeId, log, stopTimeoutMs: opts.drainMs + 10_000 }).catch((e: unknown) => {
    removeKey();
    throw e;
  });
  log.info({ workers: opts.workers, nodes: Array.from({ length: opts.workers }, (_, i) => `${opts.nodeId}-w${i}`), coap: ready.coap, http: ready.http }, 'TinyMLaaS server started');
  // a supervisor that started the primary with an IPC channel (the benchmark) may ask for the relay counters
  process.on('message', (m: { cmd?: string }) => {
    if (m?.cmd === 'affinity-stats') void pool.affinityStats().then((stats) => process.send?.({ affinityStats: stats, restarts: pool.restartCount }));
  });
  let stopping = false;
  return (signal) => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      log.info({ signal }, 'shutting down the workers');
      const stats = await pool.affinityStats();
      const sum = (k: keyof (typeof stats)[number]): number => stats.reduce((s, x) => s + x[k], 0);
      log.info({ relayedOut: sum('relayedOut'), relayedIn: sum('relayedIn'), ownerAway: sum('ownerAway'), refused: sum('refused'), restarts: pool.restartCount }, 'affinity relay totals');
      const exitCode = await pool.stop();
      removeKey();
      log.info({ exitCode }, 'stopped');
      log.flush(() => process.exit(exitCode));
    })();
  };
}
