// Entry point: `tsx src/main.ts [--demo] [--coap-port 5683] [--http-port 8080] ...`
// Starts the LwM2M server and the REST API on embedded defaults (in-memory store).
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { openAccessStores } from './access/access-stores.ts';
import { ensureAdminToken } from './access/first-admin.ts';
import { bearerVerifier, createJwtVerifier } from './access/jwt-verifier.ts';
import { allowedHosts, isLoopback } from './api/allowed-hosts.ts';
import { buildApi } from './api/app.ts';
import { createServerMetrics } from './api/metrics.ts';
import { createLogger } from './log.ts';
import { ClusterNode } from './cluster/cluster-node.ts';
import { MqttBridge } from './mqtt/mqtt-bridge.ts';
import { Platform } from './platform.ts';
import { openPackageSigning } from './signing/open-signing.ts';
import { openRegistrationStore } from './store/open-store.ts';
import { RedisCollection } from './store/redis-collection.ts';
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
      'mqtt-username': { type: 'string' },
      'mqtt-password-file': { type: 'string' },
      'mqtt-ca': { type: 'string' },
      'shutdown-timeout': { type: 'string', default: '10000' },
      'no-auth': { type: 'boolean', default: false },
      'admin-token-file': { type: 'string' },
      'cors-origin': { type: 'string', multiple: true },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'metrics-public': { type: 'boolean', default: false },
      'rate-limit': { type: 'string', default: '120' },
      'rate-limit-token': { type: 'string', default: '600' },
      'signing-key': { type: 'string' },
      'jwt-jwks': { type: 'string' },
      'jwt-issuer': { type: 'string' },
      'jwt-audience': { type: 'string' },
      'jwt-role-claim': { type: 'string', default: 'role' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`Usage: tsx src/main.ts [--demo] [--devices N] [--coap-port 5683] [--http-port 8080] [--objects dir] [--data-dir dir] [--public-host host] [--log-level info]\n` +
      `       [--store memory|redis://host:port [--node-id id]] [--mqtt mqtt://host:port [--mqtt-prefix lwm2m] [--mqtt-commands]]\n` +
      `       [--shutdown-timeout ms]   (SIGTERM: stop the API, let CoAP exchanges finish for at most ms, close)\n` +
      `       [--mqtt-username u --mqtt-password-file f] [--mqtt-ca ca.pem (mqtts:// with a private CA)]\n` +
      `       [--admin-token-file f] [--no-auth (loopback only)] [--cors-origin https://dash.example]... [--tls-cert pem --tls-key pem]\n` +
      `       [--signing-key ed25519.pem (default: <data dir>/signing-key.pem, created at the first start)]\n` +
      `       [--jwt-jwks keys.json [--jwt-issuer iss] [--jwt-audience aud] [--jwt-role-claim role]]   (RS256/ES256 JWTs beside API tokens)\n` +
      `       [--metrics-public] [--rate-limit 120 (changes/min per address)] [--rate-limit-token 600 (per token)]\n`);
    return;
  }
  const drainMs = Number(values['shutdown-timeout']);
  if (!Number.isInteger(drainMs) || drainMs < 0) throw new Error(`--shutdown-timeout must be a number of milliseconds, got "${values['shutdown-timeout']}"`);
  if (values['node-id'] !== undefined && values.store === 'memory') throw new Error('--node-id needs a shared store: --store redis://host:port');
  const httpHost = values['http-host']!;
  if (values['no-auth'] && !isLoopback(httpHost)) throw new Error(`--no-auth is for a loopback API only (the demo); --http-host is ${httpHost}`);
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new Error('--tls-cert and --tls-key go together');
  const rateLimit = { perAddress: Number(values['rate-limit']), perToken: Number(values['rate-limit-token']) };
  if (!Number.isInteger(rateLimit.perAddress) || rateLimit.perAddress < 0 || !Number.isInteger(rateLimit.perToken) || rateLimit.perToken < 0) throw new Error('--rate-limit and --rate-limit-token are whole numbers of changes per minute (0: no limit)');
  // the demo sets its fleet up through the API, one observation per device, in its first minute
  if (values.demo) for (const k of ['perAddress', 'perToken'] as const) if (rateLimit[k] > 0) rateLimit[k] = Math.max(rateLimit[k], Number(values.devices) + 20);
  if (values['no-auth'] && values['mqtt-commands']) throw new Error('--mqtt-commands needs tokens (each command carries one with the operator role): drop --no-auth');
  const mqttPassword = values['mqtt-password-file'] === undefined ? undefined : (await readFile(values['mqtt-password-file'], 'utf8')).replace(/\r?\n$/, '');
  const mqttCa = values['mqtt-ca'] === undefined ? undefined : await readFile(values['mqtt-ca']);
  const tls = values['tls-cert'] ? { cert: await readFile(values['tls-cert']), key: await readFile(values['tls-key']!) } : undefined;
  const log = createLogger(values['log-level']);
  const store = await openRegistrationStore(values.store!, log);
  // on a Redis store the node joins the cluster of nodes sharing it (docs/cluster.md)
  const shared = values.store !== 'memory';
  const nodeId = shared ? values['node-id'] ?? `${os.hostname()}-${process.pid}` : undefined;
  // with Redis, deployments and model metadata are shared by the nodes too
  const deploymentStore = shared ? await RedisCollection.open<Deployment>(values.store!, 'deployments') : undefined;
  const modelStore = shared ? await RedisCollection.open<ModelEntry>(values.store!, 'models') : undefined;
  // packages are signed with the server's key; deployments of unsigned ones need an admin (docs/package-signing.md)
  const packageSigning = await openPackageSigning({ keyFile: values['signing-key'], dataDir: values['data-dir'], redisUrl: shared ? values.store : undefined, log: log.child({ component: 'signing' }) });
  const platform = await Platform.start({
    log, objectsDir: values.objects!, coapHost: values['coap-host'], coapPort: Number(values['coap-port']), store, nodeId,
    dataDir: values['data-dir'], publicHost: values['public-host'], deploymentStore, modelStore, signing: packageSigning.signing,
  });
  const server = platform.server;
  const cluster = shared ? await ClusterNode.start({ url: values.store!, nodeId: nodeId!, server, log: log.child({ component: 'cluster' }) }) : undefined;
  // operator access (docs/security.md): tokens and audit trail beside the other records
  const accessStores = await openAccessStores({ dataDir: values['data-dir'], redisUrl: shared ? values.store : undefined, log });
  const jwt = values['jwt-jwks'] === undefined ? undefined : await createJwtVerifier({ jwksFile: values['jwt-jwks'], issuer: values['jwt-issuer'], audience: values['jwt-audience'], roleClaim: values['jwt-role-claim'] });
  const verifyBearer = bearerVerifier(accessStores.tokens, jwt);
  // northbound MQTT (docs/mqtt.md): publishes in the background, reconnects by itself; commands carry a token
  const mqtt = values.mqtt === undefined ? undefined : new MqttBridge({
    url: values.mqtt, prefix: values['mqtt-prefix'], events: server.events, log: log.child({ component: 'mqtt' }),
    commands: values['mqtt-commands'] ? { request: (ep, req) => server.request(ep, req), models: server.models, authorize: verifyBearer, audit: accessStores.audit } : undefined,
    client: { username: values['mqtt-username'], password: mqttPassword, ...(mqttCa ? { ca: mqttCa } : {}) },
  });
  if (values['no-auth']) {
    log.warn({ http: httpHost }, '!!! --no-auth: the REST API accepts every request WITHOUT A TOKEN (loopback demo only) !!!');
  } else {
    await ensureAdminToken(accessStores.tokens, { file: values['admin-token-file'], log });
  }
  const access = {
    tokens: values['no-auth'] ? undefined : accessStores.tokens,
    jwt,
    audit: accessStores.audit,
    allowedHosts: allowedHosts(httpHost, [values['public-host']]),
    corsOrigins: values['cors-origin'],
    rateLimit,
    metricsPublic: values['metrics-public'],
  };
  const api = await buildApi({ server, log, platform, metrics: createServerMetrics(server, { mqtt, nodeId, cluster }), events: cluster?.fleetEvents, access, tls });
  await api.listen({ host: httpHost, port: Number(values['http-port']) });
  log.info({ node: nodeId, coap: server.coapAddress, http: `${tls ? 'https' : 'http'}://${httpHost}:${values['http-port']}`, auth: !values['no-auth'] }, 'TinyMLaaS server started');

  let stopFleet: (() => Promise<void>) | undefined;
  if (values.demo) {
    // the demo fleet is a separate concern: loaded only when asked for, never by the server itself
    const { startDemo } = await import('../simulators/demo.ts');
    // with tokens on, the demo acts as a deployer of its own
    const token = values['no-auth'] ? undefined : (await accessStores.tokens.create('demo', 'deployer')).secret;
    stopFleet = await startDemo({ token, server: `127.0.0.1:${server.coapAddress.port}`, count: Number(values.devices), log: log.child({ component: 'demo' }), apiUrl: `${tls ? 'https' : 'http'}://${httpHost}:${values['http-port']}` });
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
      await accessStores.close();
      await packageSigning.close();
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
