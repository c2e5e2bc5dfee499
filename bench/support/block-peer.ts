// One of our CoAP endpoints in a process of its own, for bench/block-transfer.ts: it serves
// GET /bench (the body, Block2) and takes PUT /bench (Block1), and on IPC {cmd:'get'|'put', port}
// does one transfer to another peer and answers the milliseconds it took, measured in here.
import { CoapEndpoint } from '../../src/coap/endpoint.ts';
import { Code, Method } from '../../src/coap/message.ts';
import { UdpTransport } from '../../src/coap/transport.ts';
import { quietLogger } from '../../src/log.ts';

const size = Number(process.argv[2] ?? 100 * 1024);
const body = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7919 + 13) % 256));
const ep = new CoapEndpoint({ transport: await UdpTransport.open({ host: '127.0.0.1' }), log: quietLogger, maxBodySize: 4 * 1024 * 1024 });
let stored = 0;
ep.onRequest((req) => {
  if (req.method === Method.GET) return { code: Code.CONTENT, contentFormat: 42, payload: body };
  stored = req.payload.length;
  return { code: Code.CHANGED };
});
process.send?.({ port: ep.address.port });
process.on('message', async (m: { cmd: string; port: number }) => {
  if (m.cmd === 'stop') {
    await ep.close();
    process.exit(0);
  }
  const peer = { address: '127.0.0.1', port: m.port };
  const t0 = performance.now();
  const res = m.cmd === 'get'
    ? await ep.request(peer, { method: Method.GET, path: ['bench'], blockSize: 1024 })
    : await ep.request(peer, { method: Method.PUT, path: ['bench'], payload: body, contentFormat: 42, blockSize: 1024 });
  const ms = performance.now() - t0;
  const ok = m.cmd === 'get' ? res.payload.equals(body) : res.code === Code.CHANGED || res.code === Code.CREATED;
  process.send?.({ ms, ok, stored });
});
