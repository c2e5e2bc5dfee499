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
import { openSecurityStore } from './security/open-security-store.ts';
import { BootstrapServer } from './bootstrap/bootstrap-server.ts';
import type { BootstrapConfig } from './bootstrap/bootstrap-config.ts';
import { JsonCollection } from './store/json-collection.ts';
import type { Collection } from './store/collection.ts';
import type { Deployment } from './ota/deployment.ts';
import type { ModelEntry } from './ml/model-catalog.ts';

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
      'bootstrap-port': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`Usage: tsx src/main.ts [--demo] [--devices N] [--coap-port 5683] [--http-port 8080] [--objects dir] [--data-dir dir] [--public-host host] [--log-level info]\n` +
      `       [--store memory|redis://host:port [--node-id id]] [--mqtt mqtt://host:port [--mqtt-prefix lwm2m] [--mqtt-commands]]\n` +
      `       [--bootstrap-port 5783]   (LwM2M Bootstrap-Server on its own UDP port; configurations at /bootstrap/:endpoint)\n` +
      `       [--shutdown-timeout ms]   (SIGTERM: stop the API, let CoAP exchanges finish for at most ms, close)\n`);
    return;
  }
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
  // security info (issue 12 §2) lives beside the registrations: Redis when shared, else the data dir
  const security = await openSecurityStore({ store: shared ? values.store : undefined, dataDir: values['data-dir'], log });
  const platform = await Platform.start({
    log, objectsDir: values.objects!, coapHost: values['coap-host'], coapPort: Number(values['coap-port']), store, nodeId, security,
    dataDir: values['data-dir'], publicHost: values['public-host'], deploymentStore, modelStore,
  });
  const server = platform.server;
  const cluster = shared ? await ClusterNode.start({ url: values.store!, nodeId: nodeId!, server, log: log.child({ component: 'cluster' }) }) : undefined;
  // northbound MQTT (docs/mqtt.md): publishes in the background, reconnects by itself
  const mqtt = values.mqtt === undefined ? undefined : new MqttBridge({
    url: values.mqtt, prefix: values['mqtt-prefix'], events: server.events, log: log.child({ component: 'mqtt' }),
    commands: values['mqtt-commands'] ? { request: (ep, req) => server.request(ep, req), models: server.models } : undefined,
  });
  // the Bootstrap-Server (issue 12 §3): its configurations are stored like the security info
  let bootstrapConfigs: (Collection<BootstrapConfig> & { close?(): Promise<void> }) | undefined;
  let bootstrap: BootstrapServer | undefined;
  let bootstrapSecurity: Awaited<ReturnType<typeof openSecurityStore>> | undefined;
  if (values['bootstrap-port'] !== undefined) {
    bootstrapSecurity = await openSecurityStore({ store: shared ? values.store : undefined, dataDir: values['data-dir'], log, of: 'bootstrap' });
    bootstrapConfigs = shared ? await RedisCollection.open<BootstrapConfig>(values.store!, 'bootstrap')
      : values['data-dir'] ? await JsonCollection.open<BootstrapConfig>(path.join(values['data-dir'], 'bootstrap.json')) : JsonCollection.memory<BootstrapConfig>();
    bootstrap = await BootstrapServer.start({
      log: log.child({ component: 'bootstrap' }), models: server.models, configs: bootstrapConfigs, security, bootstrapSecurity,
      host: values['coap-host'], port: Number(values['bootstrap-port']),
    });
    log.info({ bootstrap: bootstrap.address }, 'Bootstrap-Server started');
  }
  const api = await buildApi({ server, log, platform, bootstrap, metrics: createServerMetrics(server, { mqtt, nodeId, cluster }), events: cluster?.fleetEvents });
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
      await bootstrap?.stop();
      await platform.stop();
      log.debug('closing store');
      await store.close?.();
      await security.close?.();
      await bootstrapConfigs?.close?.();
      await bootstrapSecurity?.close?.();
      await deploymentStore?.close();
      await modelStore?.close();
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
