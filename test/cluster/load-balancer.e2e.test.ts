// The load-balancer example of docs/cluster.md, really run: nginx `stream` (Debian nginx-light +
// libnginx-mod-stream) with `hash $remote_addr consistent` in front of two nodes sharing Redis.
// Devices register through nginx; the node a device lands on reaches it back through the same
// session (a read), and the device lands on the same node when it registers again.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterNode } from '../../src/cluster/cluster-node.ts';
import { quietLogger } from '../../src/log.ts';
import { RedisRegistrationStore } from '../../src/store/redis-registration-store.ts';
import { loadProfile } from '../../simulators/client/device-profile.ts';
import { SimulatedClient } from '../../simulators/client/lwm2m-client.ts';
import { fastTiming, startHarness, type Harness } from '../e2e/harness.ts';
import { startRedis, type Service } from '../support/services.ts';
import { freeUdpPort } from '../helpers/free-udp-port.ts';

let redis: Service;
const nodes: { h: Harness; c: ClusterNode; s: RedisRegistrationStore }[] = [];
let nginx: ChildProcess;
let dir: string;
let lbPort: number;

beforeAll(async () => {
  if (!existsSync('/usr/lib/nginx/modules/ngx_stream_module.so')) throw new Error('FATAL: nginx stream module missing (Debian nginx-light libnginx-mod-stream; scripts/test.sh installs them)');
  redis = await startRedis();
  for (const id of ['lb-a', 'lb-b']) {
    const s = await new RedisRegistrationStore({ url: redis.url }).connect();
    const h = await startHarness({ store: s, nodeId: id });
    const c = await ClusterNode.start({ url: redis.url, nodeId: id, server: h.server, log: quietLogger });
    nodes.push({ h, c, s });
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'nginx-lb-'));
  lbPort = await freeUdpPort();
  // the documented configuration, with this test's ports and paths
  const conf = readFileSync(path.join(import.meta.dirname, '../../docs/nginx-lwm2m-udp.conf'), 'utf8')
    .replace('server 10.0.0.11:5683;', `server 127.0.0.1:${nodes[0]!.h.server.coapAddress.port};`)
    .replace('server 10.0.0.12:5683;', `server 127.0.0.1:${nodes[1]!.h.server.coapAddress.port};`)
    .replace('listen 5683 udp;', `listen 127.0.0.1:${lbPort} udp;`)
    .replace('events {', `pid ${dir}/nginx.pid;\nerror_log ${dir}/error.log;\nevents {`);
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  nginx = spawn('/usr/sbin/nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  nginx.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  // nginx writes its pid file once its sockets are bound
  for (let i = 0; !existsSync(path.join(dir, 'nginx.pid')); i++) {
    if (nginx.exitCode !== null || i > 200) throw new Error(`nginx did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}, 60_000);

afterAll(async () => {
  if (nginx && nginx.exitCode === null) {
    const gone = new Promise((r) => nginx.once('exit', r));
    nginx.kill('SIGTERM');
    await gone;
  }
  for (const n of nodes) {
    await n.c.close();
    await n.h.close();
    await n.s.close();
  }
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('nginx stream, hash $remote_addr, in front of two nodes', () => {
  it('devices register through it, are read back through it, and stay on their node', async () => {
    const models = nodes[0]!.h.server.models;
    const clients = ['lb-dev-1', 'lb-dev-2', 'lb-dev-3'].map((endpoint) => new SimulatedClient({
      endpoint, server: { address: '127.0.0.1', port: lbPort }, models, profile: loadProfile('esp32'), log: quietLogger, timing: fastTiming,
    }));
    for (const c of clients) await c.start();
    const owner = async (ep: string): Promise<string | undefined> => (await nodes[0]!.s.byEndpoint(ep))?.node;
    const owners = await Promise.all(clients.map((c) => owner(c.endpoint)));
    // one source address (127.0.0.1): the hash sends every device to the same node
    expect(new Set(owners).size).toBe(1);
    expect(['lb-a', 'lb-b']).toContain(owners[0]);
    // a read from the other node's API: forwarded to the owner, which reaches the device through nginx
    const other = nodes.find((n) => n.h.server.nodeId !== owners[0])!;
    const read = await other.h.api.inject({ method: 'GET', url: '/devices/lb-dev-2/data/3/0/2' });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({ node: { value: 'SN-lb-dev-2' } });
    // a reboot registers again from a new port: same address, same node
    await clients[0]!.reboot();
    expect(await owner('lb-dev-1')).toBe(owners[0]);
    for (const c of clients) await c.stop();
  }, 60_000);
});
