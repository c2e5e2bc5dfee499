// Starts a bench/support script as a child process (tsx, --expose-gc) and talks to it over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export type Child<T> = { proc: ChildProcess; ready: T; ask<R>(cmd: string, extra?: object): Promise<R>; stop(): Promise<void> };

/** nodeArgs: more Node.js flags (e.g. --cpu-prof) */
export async function startChild<T>(script: string, args: string[] = [], nodeArgs: string[] = []): Promise<Child<T>> {
  const proc = fork(path.join(here, script), args, { execArgv: ['--import', 'tsx', '--expose-gc', ...nodeArgs], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<T>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as T));
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return {
    proc, ready,
    ask<R>(cmd: string, extra: object = {}): Promise<R> {
      return new Promise((resolve) => {
        proc.once('message', (m) => resolve(m as R));
        proc.send({ cmd, ...extra });
      });
    },
    async stop() {
      proc.send({ cmd: 'stop' });
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

/** Drops counted by the kernel for a UDP socket bound to `port` (/proc/net/udp, last column). */
export async function udpDrops(port: number): Promise<number> {
  const { readFileSync } = await import('node:fs');
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols[1]?.endsWith(`:${hex}`)) return Number(cols.at(-1));
  }
  return -1;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
