// Our DTLS server in its own process for bench/dtls.ts: a CoapEndpoint over DtlsServer with one PSK
// (identity "bench") serving a 100 KB resource /big; IPC "stats" answers RSS after a GC and the
// session count, "cpu" the process's CPU time so far (ms).
import { CoapEndpoint } from '../../src/coap/endpoint.ts';
import { DtlsServer } from '../../src/dtls/server.ts';
import { quietLogger } from '../../src/log.ts';

const big = Buffer.from(Array.from({ length: 100 * 1024 }, (_, i) => (i * 7919 + 13) % 256));
const dtls = await DtlsServer.open({
  host: '127.0.0.1', port: 0, log: quietLogger, recvBufferSize: 8 << 20, sendBufferSize: 4 << 20,
  credentials: { pskKey: (id) => (id.toString() === 'bench' ? Buffer.from('bench-key') : undefined) },
});
const ep = new CoapEndpoint({ transport: dtls, log: quietLogger });
ep.onRequest((req) => (req.path[0] === 'big' ? { code: 69, contentFormat: 42, payload: big } : { code: 69, payload: Buffer.from('ok') }));
process.send?.({ port: dtls.address().port });
process.on('message', async (m: { cmd: string }) => {
  if (m.cmd === 'stats') {
    for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 100));
    process.send?.({ rss: process.memoryUsage().rss, heapUsed: process.memoryUsage().heapUsed, sessions: dtls.sessionCount, stats: dtls.stats });
  }
  if (m.cmd === 'cpu') {
    const cpu = process.cpuUsage();
    process.send?.({ cpuMs: (cpu.user + cpu.system) / 1000 });
  }
  if (m.cmd === 'stop') {
    await ep.close();
    process.exit(0);
  }
});
