// One 100 KB block-wise transfer (1024-byte blocks), pull (Block2 GET) and push (Block1 PUT),
// client and server each in its own process, against libcoap (Debian libcoap3-bin) in the same
// run (issue 17). Wall time: our client times the transfer inside its process; libcoap's figure
// is its whole coap-client command (process start included), as the issue compares them. On a
// shared machine wall times swing 2-4x between runs, so CPU time is reported too: each server's
// from /proc/<pid>/schedstat (ns), libcoap's clients from getrusage(RUSAGE_CHILDREN) of a
// Python runner, ours from the client process's schedstat.
// Run: npx tsx bench/block-transfer.ts [--reps 15] [--size 102400]
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { startChild } from './support/child.ts';

const run = promisify(execFile);
const { values } = parseArgs({ options: { reps: { type: 'string', default: '15' }, size: { type: 'string', default: String(100 * 1024) } } });
const reps = Number(values.reps);
const size = Number(values.size);
const body = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7919 + 13) % 256));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const load = loadavg().map((l) => l.toFixed(1)).join(' ');
const cpuMs = (pid: number): number => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;

const dir = await mkdtemp(path.join(tmpdir(), 'block-bench-'));
const file = path.join(dir, 'body.bin');
const out = path.join(dir, 'out.bin');
await writeFile(file, body);
const libPort = 20000 + Math.floor(Math.random() * 20000);
const libServer = spawn('coap-server-notls', ['-A', '127.0.0.1', '-p', String(libPort), '-d', '4'], { stdio: 'ignore' });
let libServerExit: string | undefined;
libServer.on('exit', (code, signal) => {
  libServerExit = `coap-server-notls on port ${libPort} exited (${code ?? signal}); is the port taken? run again`;
});
await new Promise((r) => setTimeout(r, 300));
const libUri = `coap://127.0.0.1:${libPort}/bench`;
await run('coap-client-notls', ['-m', 'put', '-b', '1024', '-f', file, libUri]);

const server = await startChild<{ port: number }>('block-peer.ts', [String(size)]);
const client = await startChild<{ port: number }>('block-peer.ts', [String(size)]);
const ourUri = `coap://127.0.0.1:${server.ready.port}/bench`;

// n coap-client commands in a row: wall ms of each, CPU ms of all of them together
const RUNNER = `
import json, resource, subprocess, sys, time
args = json.loads(sys.argv[1]); n = int(sys.argv[2]); walls = []
for _ in range(n):
    t = time.perf_counter(); subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); walls.append((time.perf_counter() - t) * 1000)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"walls": walls, "cpu": (r.ru_utime + r.ru_stime) * 1000}))
`;
type Batch = { wall: number; clientCpu: number; serverCpu: number };
async function libcoap(args: string[], serverPid: number): Promise<Batch> {
  if (libServerExit) throw new Error(libServerExit);
  await run('python3', ['-c', RUNNER, JSON.stringify(['coap-client-notls', ...args]), '1']); // warm the page cache
  const s0 = cpuMs(serverPid);
  const { stdout } = await run('python3', ['-c', RUNNER, JSON.stringify(['coap-client-notls', ...args]), String(reps)]);
  const r = JSON.parse(stdout) as { walls: number[]; cpu: number };
  return { wall: median(r.walls), clientCpu: r.cpu / reps, serverCpu: (cpuMs(serverPid) - s0) / reps };
}
async function ours(cmd: 'get' | 'put'): Promise<Batch> {
  await client.ask('get', { port: server.ready.port }); // JIT warm-up
  await client.ask(cmd, { port: server.ready.port });
  const walls: number[] = [];
  const c0 = cpuMs(client.proc.pid!);
  const s0 = cpuMs(server.proc.pid!);
  for (let i = 0; i < reps; i++) {
    const r = await client.ask<{ ms: number; ok: boolean }>(cmd, { port: server.ready.port });
    if (!r.ok) throw new Error(`our ${cmd} failed`);
    walls.push(r.ms);
  }
  return { wall: median(walls), clientCpu: (cpuMs(client.proc.pid!) - c0) / reps, serverCpu: (cpuMs(server.proc.pid!) - s0) / reps };
}

const results: [string, Batch][] = [];
results.push(['libcoap -> libcoap GET', await libcoap(['-m', 'get', '-b', '1024', '-o', out, libUri], libServer.pid!)]);
results.push(['ours -> ours GET (pull)', await ours('get')]);
results.push(['coap-client -> our server GET', await libcoap(['-m', 'get', '-b', '1024', '-o', out, ourUri], server.proc.pid!)]);
results.push(['libcoap -> libcoap PUT', await libcoap(['-m', 'put', '-b', '1024', '-f', file, libUri], libServer.pid!)]);
results.push(['ours -> ours PUT (push)', await ours('put')]);
results.push(['coap-client -> our server PUT', await libcoap(['-m', 'put', '-b', '1024', '-f', file, ourUri], server.proc.pid!)]);
libServer.kill();
await client.stop();
await server.stop();

process.stdout.write(`one ${size}-byte transfer, 1024-byte blocks, client and server in separate processes, ${reps} runs each (load before: ${load}; after: ${loadavg().map((l) => l.toFixed(1)).join(' ')})\n`);
process.stdout.write('transfer                       | wall ms (median) | client CPU ms | server CPU ms | CPU total ms\n');
for (const [name, b] of results) {
  process.stdout.write(`${name.padEnd(30)} | ${b.wall.toFixed(1).padStart(16)} | ${b.clientCpu.toFixed(2).padStart(13)} | ${b.serverCpu.toFixed(2).padStart(13)} | ${(b.clientCpu + b.serverCpu).toFixed(2).padStart(12)}\n`);
}
const get = (n: string): Batch => results.find(([k]) => k.startsWith(n))![1];
for (const m of ['GET', 'PUT']) {
  const lib = get(`libcoap -> libcoap ${m}`);
  const our = get(`ours -> ours ${m}`);
  process.stdout.write(`${m}: ours/libcoap wall ${(our.wall / lib.wall).toFixed(2)}x (vs its whole command), CPU ${((our.clientCpu + our.serverCpu) / (lib.clientCpu + lib.serverCpu)).toFixed(2)}x\n`);
}
