// Whole rollouts through the deployment engine to fleets of simulated devices. The fleet runs in
// child processes (simulators/fleet.ts), so server and devices do not share one event loop, and
// spread over several of them: every device holds a UDP socket (a pulling one a second), and a
// process may open at most 20,000 files. Each process binds its own loopback address (127.0.0.x),
// which has its own ~28,000 ephemeral ports. The server runs in the bench's own process, so its
// CPU is this process's `process.cpuUsage()` over the rollout (the bench only waits meanwhile).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '../../compiler/compile.ts';
import type { Platform } from '../../src/platform.ts';
import type { UpdateMethod } from '../../src/ota/update-flow.ts';
import { scanRows } from '../../src/ota/row-scan.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export type RolloutBenchOptions = {
  counts: number[];
  methods: UpdateMethod[];
  /** the policy's maxParallel; min(devices, this) */
  maxParallel: number;
  /** devices per fleet process; 0: ceil(devices / 2,500) processes */
  perProcess: number;
  /** GET <metricsUrl> before and after each rollout: the event-loop delay p99 over the rollout */
  metricsUrl: string;
  /** a V8 CPU profile of the server over each rollout, written here */
  cpuProfDir?: string;
  /** how many rollouts of each method and fleet size (the table shows each) */
  reps: number;
  /**
   * the fleet processes' nice value: the simulated devices share the server's two cores, which
   * real devices do not; at 19 the server runs whenever it has work and its event-loop delay is
   * its own, not the scheduler's time slices given to the fleet (0: equal shares)
   */
  fleetNice: number;
};

async function waitFor(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** CPU time (ms) the fleet processes have used so far: utime + stime from /proc (Linux, 100 ticks/s). */
function fleetCpuMs(fleet: readonly ChildProcess[]): number {
  let ticks = 0;
  for (const c of fleet) {
    try {
      const stat = readFileSync(`/proc/${c.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone already
    }
  }
  return ticks * 10;
}

/** The event-loop delay p99 from a /metrics text (src/api/event-loop-delay.ts), or NaN. */
function delayP99(text: string): number {
  const m = /^eventloop_delay_seconds\{quantile="0\.99"\} (\S+)$/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

/**
 * Starts `n` devices named <prefix><i> over several processes, interleaved (process k has devices
 * k, k + procs, ...): the engine walks the endpoints in order, so each process gets its share of
 * the devices in flight. Resolves when all have registered.
 */
async function startFleet(platform: Platform, n: number, prefix: string, perProcess: number, nice: number): Promise<ChildProcess[]> {
  const procs = Math.max(1, Math.ceil(n / (perProcess > 0 ? perProcess : 2500)));
  const children: ChildProcess[] = [];
  for (let k = 0; k < procs; k++) {
    const count = Math.floor(n / procs) + (k < n % procs ? 1 : 0);
    if (count === 0) continue;
    children.push(spawn(process.execPath, ['--import', 'tsx', path.join(root, 'simulators/fleet.ts'),
      '--server', `127.0.0.1:${platform.server.coapAddress.port}`, '--count', String(count), '--prefix', prefix, '--first', String(k), '--step', String(procs),
      '--lifetime', '3600', '--bind', `127.0.0.${10 + k}`], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOG_LEVEL: 'error' } }));
    const pid = children.at(-1)!.pid;
    if (nice !== 0 && pid !== undefined) setPriority(pid, nice);
  }
  const registered = async (): Promise<number> => (await platform.server.registrations.all()).filter((r) => r.endpoint.startsWith(prefix)).length;
  let last = 0;
  await waitFor(async () => {
    const now = await registered();
    if (Date.now() - last > 15_000) {
      last = Date.now();
      process.stderr.write(`  ${now}/${n} registered\n`);
    }
    return now >= n;
  }, 600_000, `${n} registrations`);
  return children;
}

export async function rolloutBench(platform: Platform, o: RolloutBenchOptions): Promise<void> {
  const onnx = readFileSync(path.join(root, 'compiler/zoo/models/mlp.onnx'));
  // a module of its own per rollout (another name, another digest): a device that already runs a
  // module is not sent it again, so a second rollout of the same one would measure only the checks
  let modules = 0;
  const nextModule = async (): Promise<{ mod: Uint8Array; digest: string }> => {
    const mod = compile(onnx, { target: 'esp32', name: `mlp${modules++}` }).module;
    return { mod, digest: (await platform.repo.put(Buffer.from(mod))).digest };
  };
  let size = 0;
  const profiler = o.cpuProfDir ? new Session() : undefined;
  if (profiler && o.cpuProfDir) {
    mkdirSync(o.cpuProfDir, { recursive: true });
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
  }
  const rows: string[] = [];
  for (const n of o.counts) {
    const prefix = `r${n}-`;
    const fleet = await startFleet(platform, n, prefix, o.perProcess, o.fleetNice);
    try {
      for (let rep = 0; rep < o.reps; rep++) {
        for (const method of o.methods) {
          const parallel = Math.min(n, o.maxParallel);
          const { mod, digest } = await nextModule();
          size = mod.length;
          // a scrape resets the delay histogram (metrics.ts): the one after the rollout covers it alone
          await fetch(o.metricsUrl).then((r) => r.text());
          if (profiler) await profiler.post('Profiler.start');
          const cpu0 = process.cpuUsage();
          const fleetCpu0 = fleetCpuMs(fleet);
          const t0 = performance.now();
          // one wave (batchSize n): waves of maxParallel would wait for each wave's slowest device; the
          // failure rate is still checked after every device
          const d = await platform.engine.create({ moduleDigest: digest, method, selector: { prefix }, policy: { maxParallel: parallel, batchSize: n, deviceTimeoutMs: 600_000 } });
          // progress from the deployment's own events (a copy of the deployment would cost the server CPU)
          let finished = 0;
          const off = platform.server.events.on((e) => {
            if (e.type === 'deployment' && e.deploymentId === d.id && e.endpoint && (e.state === 'done' || e.state === 'failed')) finished++;
          });
          const ticker = setInterval(() => process.stderr.write(`  ${method} ${n}: ${finished} finished after ${((performance.now() - t0) / 1000).toFixed(0)} s\n`), 15_000);
          await platform.engine.settled(d.id);
          clearInterval(ticker);
          off();
          const s = (performance.now() - t0) / 1000;
          const cpu = process.cpuUsage(cpu0);
          const fleetCpuS = (fleetCpuMs(fleet) - fleetCpu0) / 1000;
          if (profiler) {
            const { profile } = await profiler.post('Profiler.stop');
            writeFileSync(path.join(o.cpuProfDir!, `rollout-${n}-${method}-${rep}.cpuprofile`), JSON.stringify(profile));
          }
          const metrics = await fetch(o.metricsUrl).then((r) => r.text());
          const lagP99 = delayP99(metrics) * 1000;
          const final = (await platform.engine.get(d.id))!;
          const done = final.counts.done ?? 0;
          const rowsOf = (keep: Parameters<typeof scanRows>[1]['keep'], limit: number) => scanRows((a, l) => platform.engine.rows(d.id, a, l), { limit, keep, budget: n });
          const delivered = (await rowsOf((r) => r.state === 'done' && !r.alreadyInstalled, n)).rows.length;
          const failure = (await rowsOf((r) => r.error !== undefined, 1)).rows[0]?.error;
          if (failure) process.stderr.write(`${method} to ${n}: first failure ${failure.code}: ${failure.message}\n`);
          const cpuMsPerDevice = (cpu.user + cpu.system) / 1000 / Math.max(1, done);
          rows.push([
            String(n).padStart(7), method.padEnd(9), String(parallel).padStart(8), `${done}`.padStart(6), `${delivered}`.padStart(9), s.toFixed(2).padStart(8),
            ((delivered * mod.length) / s / 1024).toFixed(0).padStart(7), ((s * 1000) / Math.max(1, done)).toFixed(2).padStart(9),
            cpuMsPerDevice.toFixed(2).padStart(13), lagP99.toFixed(1).padStart(12), fleetCpuS.toFixed(1).padStart(11),
          ].join(' | '));
          process.stderr.write(`${rows.at(-1)}\n`);
        }
      }
    } finally {
      for (const c of fleet) c.kill('SIGKILL');
      for (const r of await platform.server.registrations.all()) if (r.endpoint.startsWith(prefix)) await platform.server.registrations.deregister(r.id);
    }
  }
  profiler?.disconnect();
  process.stdout.write(`\nrollouts of a ${size}-byte module (mlp, esp32) through the deployment engine: transfer, install, activate, confirm\n`);
  process.stdout.write('devices | method    | parallel | done   | delivered | seconds  | KB/s    | ms/device | server CPU ms/device | loop delay p99 ms | fleet CPU s\n');
  for (const r of rows) process.stdout.write(r + '\n');
}
