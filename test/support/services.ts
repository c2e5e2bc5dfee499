// Real redis-server and mosquitto instances for tests, each on a free port, torn down afterwards.
// A missing binary fails the test loudly: scripts/test.sh installs the Debian packages.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export type Service = { port: number; url: string; proc: ChildProcess; stop(): Promise<void>; kill(): void };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function requireBinary(name: string, pkg: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${name} || ls /usr/sbin/${name} /usr/bin/${name} 2>/dev/null | head -1`], { encoding: 'utf8' });
  const bin = r.stdout.trim().split('\n')[0];
  if (!bin) throw new Error(`FATAL: ${name} is not installed (Debian package ${pkg}); run scripts/test.sh, which installs it`);
  return bin;
}

async function waitForPort(port: number, proc: ChildProcess, name: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopper(proc: ChildProcess, cleanup?: () => void): { stop(): Promise<void>; kill(): void } {
  return {
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      cleanup?.();
    },
    kill() {
      proc.kill('SIGKILL');
    },
  };
}

export async function startRedis(port?: number): Promise<Service> {
  const bin = requireBinary('redis-server', 'redis-server');
  const p = port ?? await freePort();
  const proc = spawn(bin, ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitForPort(p, proc, 'redis-server');
  return { port: p, url: `redis://127.0.0.1:${p}`, proc, ...stopper(proc) };
}

export async function startMosquitto(): Promise<Service> {
  return startMosquittoOn(await freePort());
}

export async function startMosquittoOn(port: number): Promise<Service> {
  const bin = requireBinary('mosquitto', 'mosquitto');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const proc = spawn(bin, ['-c', conf], { stdio: 'ignore' });
  await waitForPort(port, proc, 'mosquitto');
  return { port, url: `mqtt://127.0.0.1:${port}`, proc, ...stopper(proc, () => rmSync(dir, { recursive: true, force: true })) };
}

export type SecureBroker = Service & { ca: Buffer; username: string; password: string };

/**
 * mosquitto as a production broker runs: TLS only (a throwaway CA and a server certificate for
 * localhost, made with openssl) and username/password (mosquitto_passwd), no anonymous clients.
 */
export async function startSecureMosquitto(username = 'bridge', password = 'correct horse battery'): Promise<SecureBroker> {
  const bin = requireBinary('mosquitto', 'mosquitto');
  const passwd = requireBinary('mosquitto_passwd', 'mosquitto');
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mosquitto-tls-'));
  const f = (n: string): string => path.join(dir, n);
  const ssl = (...args: string[]): void => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
  };
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=test CA');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(f('san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext');
  const pw = spawnSync(passwd, ['-b', '-c', f('passwd'), username, password], { encoding: 'utf8' });
  if (pw.status !== 0) throw new Error(`mosquitto_passwd failed: ${pw.stderr}`);
  // mosquitto started as root drops to its own user: it must read these throwaway files
  chmodSync(dir, 0o755);
  for (const n of ['server.key', 'server.pem', 'ca.pem', 'passwd']) chmodSync(f(n), 0o644);
  writeFileSync(f('mosquitto.conf'), [
    `listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${f('passwd')}`,
    `cafile ${f('ca.pem')}`, `certfile ${f('server.pem')}`, `keyfile ${f('server.key')}`, 'persistence false', '',
  ].join('\n'));
  const proc = spawn(bin, ['-c', f('mosquitto.conf')], { stdio: 'ignore' });
  await waitForPort(port, proc, 'mosquitto (TLS)');
  return { port, url: `mqtts://localhost:${port}`, proc, ca: readFileSync(f('ca.pem')), username, password, ...stopper(proc, () => rmSync(dir, { recursive: true, force: true })) };
}
