// Entry point: `tsx src/main.ts [--demo] [--coap-port 5683] [--http-port 8080] ...`
// Starts the LwM2M server and the REST API on embedded defaults (in-memory store).
import os from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { buildApi } from './api/app.ts';
import { createServerMetrics } from './api/metrics.ts';
import { createLogger } from './log.ts';
import { ClusterNode } from './cluster/cluster-node.ts';
import { MqttBridge } from './events/mqtt-bridge.ts';
import { Platform } from './platform.ts';
import { openRegistrationStore } from './store/open-store.ts';
import { RedisCollection } from './store/redis-collection.ts';
import type { Deployment } from './ota/deployment.ts';
import type { ModelEntry } from './ml/model-catalog.ts';
import type { PackageEntry } from './ota/package-catalog.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export const defaultObjectsDir = path.resolve(here, '..', 'objects');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'coap-host': { type: 'string', default: '0.0.0.0' },
      'coap-port': { type: 'string', default: '5683' },
      'http-host': { type: 'string', default: '127.0.0.1' },
      'http-port': { type: 'string', default: '8080' },
      objects: { type: 'string', default: defaultObjectsDir },
      demo: { type: 'boolean', default: false },
      devices: { type: 'string', default: '10' },
      'log-level': { type: 'string' },
      'data-dir': { type: 'string' },
      'public-host': { type: 'string' },
      store: { type: 'string', default: 'memory' },
      'node-id': { type: 'string' },
      mqtt: { type: 'string' },
      'mqtt-prefix': { type: 'string', default: 'lwm2m' },
      'mqtt-commands': { type: 'boolean', default: false },
      'shutdown-timeout': { type: 'string', default: '10000' },
      'request-timeout': { type: 'string', default: '60000' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`Usage: tsx src/main.ts [--demo] [--devices N] [--coap-port 5683] [--http-port 8080] [--objects dir] [--data-dir dir] [--public-host host] [--log-level info]\n` +
      `       [--store memory|redis://host:port [--node-id id]] [--mqtt mqtt://host:port [--mqtt-prefix lwm2m] [--mqtt-commands]]\n` +
      `       [--shutdown-timeout ms]   (SIGTERM: stop the API, let CoAP exchanges finish for at most ms, close)\n` +
      `       [--request-timeout ms]    (how long a DM request waits for the device, default 60000; ?timeout= per API request)\n`);
    return;
  }
  // how long a DM request waits for the device (CoAP exchange with retransmissions); ?timeout= per request
  const requestTimeoutMs = Number(values['request-timeout']);
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs < 100) throw new Error(`--request-timeout must be a number of milliseconds >= 100, got "${values['request-timeout']}"`);
  const drainMs = Number(values['shutdown-timeout']);
  if (!Number.isInteger(drainMs) || drainMs < 0) throw new Error(`--shutdown-timeout must be a number of milliseconds, got "${values['shutdown-timeout']}"`);
  if (values['node-id'] !== undefined && values.store === 'memory') throw new Error('--node-id needs a shared store: --store redis://host:port');
  const log = createLogger(values['log-level']);
  const store = await openRegistrationStore(values.store!, log);
  // on a Redis store the node joins the cluster of nodes sharing it (docs/cluster.md)
  const shared = values.store !== 'memory';
  const nodeId = shared ? values['node-id'] ?? `${os.hostname()}-${process.pid}` : undefined;
  // with Redis, deployments and model metadata are shared by the nodes too
  const deploymentStore = shared ? await RedisCollection.open<Deployment>(values.store!, 'deployments') : undefined;
  const modelStore = shared ? await RedisCollection.open<ModelEntry>(values.store!, 'models') : undefined;
  const packageStore = shared ? await RedisCollection.open<PackageEntry>(values.store!, 'packages') : undefined;
  const platform = await Platform.start({
    log, objectsDir: values.objects!, coapHost: values['coap-host'], coapPort: Number(values['coap-port']), store, nodeId, requestTimeoutMs,
    dataDir: values['data-dir'], publicHost: values['public-host'], deploymentStore, modelStore, packageStore,
  });
  const server = platform.server;
  const cluster = shared ? await ClusterNode.start({ url: values.store!, nodeId: nodeId!, server, log: log.child({ component: 'cluster' }) }) : undefined;
  // northbound MQTT (docs/mqtt.md): publishes in the background, reconnects by itself
  const mqtt = values.mqtt === undefined ? undefined : new MqttBridge({
    url: values.mqtt, prefix: values['mqtt-prefix'], events: server.events, log: log.child({ component: 'mqtt' }),
    commands: values['mqtt-commands'] ? { request: (ep, req) => server.request(ep, req), models: server.models } : undefined,
  });
  const api = await buildApi({ server, log, platform, metrics: createServerMetrics(server, { mqtt, nodeId, cluster }), events: cluster?.fleetEvents });
  await api.listen({ host: values['http-host'], port: Number(values['http-port']) });
  log.info({ node: nodeId, coap: server.coapAddress, http: `http://${values['http-host']}:${values['http-port']}` }, 'TinyMLaaS server started');

  let stopFleet: (() => Promise<void>) | undefined;
  if (values.demo) {
    // the demo fleet is a separate concern: loaded only when asked for, never by the server itself
    const { startDemo } = await import('../simulators/demo.ts');
    stopFleet = await startDemo({ server: `127.0.0.1:${server.coapAddress.port}`, count: Number(values.devices), log: log.child({ component: 'demo' }), apiUrl: `http://${values['http-host']}:${values['http-port']}` });
  }

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, drainMs }, 'shutting down');
    // whatever hangs, the process ends: an orchestrator's SIGKILL would be worse
    const hard = setTimeout(() => {
      log.error({ signal }, 'shutdown did not finish in time, exiting');
      process.exit(1);
    }, drainMs + 5000);
    // kept referenced: it also holds the event loop open, so a step that awaits nothing cannot end the process silently
    void hard;
    try {
      await stopFleet?.();
      const deadline = Date.now() + drainMs;
      // new CoAP requests get 5.03 from now on; exchanges under way may finish until the deadline
      const coapDrained = server.drain(drainMs);
      // stops accepting API requests at once (new ones on kept-alive connections get 503) and waits
      // for those under way, whose CoAP exchanges finish with them; past the deadline, cut them off
      const apiClosed = api.close();
      // a kept-alive connection whose request finishes now goes idle: close it then, not after keepAliveTimeout
      const idle = setInterval(() => api.server.closeIdleConnections(), 50);
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([apiClosed.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), drainMs)))]);
      clearTimeout(timer);
      clearInterval(idle);
      if (late) {
        log.warn('API requests left unfinished');
        api.server.closeAllConnections();
        await apiClosed;
      }
      await coapDrained;
      const drained = await server.drain(Math.max(0, deadline - Date.now()));
      log.info(drained, drained.drained ? 'CoAP exchanges drained' : 'CoAP exchanges left unfinished');
      await mqtt?.close();
      await cluster?.close();
      log.debug('closing CoAP endpoint');
      await platform.stop();
      log.debug('closing store');
      await store.close?.();
      await deploymentStore?.close();
      await modelStore?.close();
      await packageStore?.close();
    } catch (e) {
      log.error({ err: (e as Error).message }, 'shutdown failed');
      process.exit(1);
    }
    log.info('stopped');
    // pino writes asynchronously: flush the last lines before the process ends
    log.flush(() => process.exit(0));
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((e: unknown) => {
  process.stderr.write(`fatal: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
