// Whole rollouts through the deployment engine to fleets of simulated devices that run in a
// child process (simulators/fleet.ts), so server and devices do not share one event loop.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../compiler/compile.ts';
import type { Platform } from '../../src/platform.ts';
import { scanRows } from '../../src/ota/row-scan.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function waitFor(cond: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function rolloutBench(platform: Platform, counts: number[]): Promise<void> {
  const mod = compile(readFileSync(path.join(root, 'compiler/zoo/models/mlp.onnx')), { target: 'esp32', name: 'mlp' }).module;
  const { digest } = await platform.repo.put(mod);
  const rows: string[] = [];
  for (const n of counts) {
    const prefix = `r${n}-`;
    const fleet = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'simulators/fleet.ts'), '--server', `127.0.0.1:${platform.server.coapAddress.port}`, '--count', String(n), '--prefix', prefix, '--lifetime', '600'], {
      stdio: 'ignore', env: { ...process.env, LOG_LEVEL: 'error' },
    });
    try {
      const registered = async (): Promise<number> => (await platform.server.registrations.all()).filter((r) => r.endpoint.startsWith(prefix)).length;
      await waitFor(async () => (await registered()) >= n, 120_000);
      for (const method of ['sota-push', 'sota-pull'] as const) {
        const t0 = performance.now();
        const d = await platform.engine.create({ moduleDigest: digest, method, selector: { prefix }, policy: { maxParallel: Math.min(n, 100), batchSize: 1000, deviceTimeoutMs: 600_000 } });
        await platform.engine.settled(d.id);
        const s = (performance.now() - t0) / 1000;
        const final = (await platform.engine.get(d.id))!;
        const done = final.counts.done ?? 0;
        const failure = (await scanRows((a, l) => platform.engine.rows(d.id, a, l), { limit: 1, keep: (r) => r.error !== undefined, budget: n })).rows[0]?.error;
        if (failure) process.stderr.write(`${method} to ${n}: first failure ${failure.code}: ${failure.message}\n`);
        rows.push(`${String(n).padStart(6)} | ${method.padEnd(9)} | ${String(done).padStart(5)} | ${s.toFixed(2).padStart(8)} | ${((done * mod.length) / s / 1024).toFixed(0).padStart(8)} | ${((s * 1000) / Math.max(1, done)).toFixed(1).padStart(10)}`);
      }
    } finally {
      fleet.kill('SIGKILL');
      for (const r of await platform.server.registrations.all()) if (r.endpoint.startsWith(prefix)) await platform.server.registrations.deregister(r.id);
    }
  }
  process.stdout.write(`\nrollouts of a ${mod.length}-byte module (mlp, esp32) through the deployment engine: transfer, install, activate, confirm\n`);
  process.stdout.write('devices | method    | done  | seconds  | KB/s     | ms/device\n');
  for (const r of rows) process.stdout.write(r + '\n');
}
