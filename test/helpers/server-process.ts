// The real server in its own process, for tests that must tell "the server crashed" from "the
// test failed": `node --import tsx test/helpers/server-process.ts`. Prints one JSON line
// { coapPort, httpPort } on stdout when ready; GET /__test/stats returns the CoAP endpoint's
// counters and the process's memory. Exits on SIGTERM.
import { buildApi } from '../../src/api/app.ts';
import { quietLogger } from '../../src/log.ts';
import { LwM2mServer } from '../../src/server.ts';
import { objectsDir } from './live-server.ts';

const server = await LwM2mServer.start({ log: quietLogger, objectsDir, coapHost: '127.0.0.1', coapPort: 0 });
const api = await buildApi({ server, log: quietLogger });
api.get('/__test/stats', { config: { role: 'public' } }, async () => ({ coap: server.endpoint.stats, memory: process.memoryUsage(), registrations: await server.registrations.store.count() }));
await api.listen({ host: '127.0.0.1', port: 0 });
const http = api.server.address();
const httpPort = typeof http === 'object' && http !== null ? http.port : 0;
process.stdout.write(`${JSON.stringify({ coapPort: server.coapAddress.port, httpPort })}\n`);
process.on('SIGTERM', () => {
  void Promise.all([api.close(), server.stop()]).then(() => process.exit(0));
});
