// A server in its own process for benchmarks: prints {"coap":port,"http":port} on stdout and
// answers IPC "stats" messages with RSS (after a GC) and the registration count.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { buildApi } from '../../src/api/app.ts';
import { quietLogger } from '../../src/log.ts';
import { LwM2mServer } from '../../src/server.ts';
import { objectsDir } from '../../simulators/fleet.ts';

// every bench device registers from 127.0.0.1: the per-source rate bound (a flood defence) is off here
const server = await LwM2mServer.start({ log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0, registrationLimits: { perSourcePerSecond: 0 } });
const api = await buildApi({ server, log: quietLogger });
await api.listen({ host: '127.0.0.1', port: 0 });
const addr = api.server.address();
process.send?.({ ready: true, coap: server.coapAddress.port, http: typeof addr === 'object' && addr ? addr.port : 0 });
// --cpu-prof covers start-up too; a profile of the measured run alone is taken over IPC
const profiler = new Session();
process.on('message', async (m: { cmd: string; file?: string }) => {
  if (m.cmd === 'prof-start') {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 200 });
    await profiler.post('Profiler.start');
    process.send?.({ ok: true });
  }
  if (m.cmd === 'prof-stop') {
    const { profile } = await profiler.post('Profiler.stop');
    writeFileSync(m.file!, JSON.stringify(profile));
    profiler.disconnect();
    process.send?.({ ok: true });
  }
  if (m.cmd === 'stats') {
    const cpu = process.cpuUsage();
    for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 50));
    process.send?.({ rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, devices: await server.registrations.store.count(), coapStats: server.endpoint.stats, cpuUs: cpu.user + cpu.system, cpuUserUs: cpu.user });
  }
  if (m.cmd === 'stop') {
    await api.close();
    await server.stop();
    process.exit(0);
  }
});
