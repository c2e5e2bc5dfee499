// Entry point: `tsx src/main.ts [--demo] [--coap-port 5683] [--http-port 8080] ...`
// Starts the LwM2M server and the REST API on embedded defaults (in-memory store).
import nodeCluster from 'node:cluster';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { openAccessStores } from './access/access-stores.ts';
import { ensureAdminToken } from './access/first-admin.ts';
import { bearerVerifier, createJwtVerifier } from './access/jwt-verifier.ts';
import { allowedHosts, isLoopback } from './api/allowed-hosts.ts';
import { buildApi } from './api/app.ts';
import { HttpDrain } from './api/http-drain.ts';
import { createServerMetrics } from './api/metrics.ts';
import { createLogger, type LogFormat } from './log.ts';
import { exitOnError, intFlag, parseCli, portFlag, UsageError } from './cli/args.ts';
import { limitFlagOptions, limitFlagsHelp, readLimitFlags } from './limit-flags.ts';
import { installProcessGuards } from './process-guards.ts';
import { ClusterNode } from './cluster/cluster-node.ts';
import { workerFlagProblem } from './cluster/worker-flags.ts';
import { openWorkerTransport, reportWorkerReady, workerRole } from './cluster/worker-node.ts';
import { runWorkerPrimary } from './cluster/worker-primary.ts';
import { DeploymentLeases } from './cluster/deployment-lease.ts';
import { DeploymentTakeover } from './cluster/deployment-takeover.ts';
import { MqttBridge } from './mqtt/mqtt-bridge.ts';
import { Platform } from './platform.ts';
import { openPackageSigning } from './signing/open-signing.ts';
import { openRegistrationStore } from './store/open-store.ts';
import type { DtlsCredentials } from './dtls/credentials.ts';
import { loadPskFile } from './dtls/psk-file.ts';
import { RedisCollection } from './store/redis-collection.ts';
import { RedisDeploymentStore } from './store/redis-deployment-store.ts';
import { RedisPackageRepository } from './ota/redis-package-repository.ts';
import { openSecurityStore } from './security/open-security-store.ts';
import { dtlsCredentialsFromStore } from './security/dtls-credentials.ts';
import { BootstrapServer } from './bootstrap/bootstrap-server.ts';
import type { BootstrapConfig } from './bootstrap/bootstrap-config.ts';
import { JsonCollection } from './store/json-collection.ts';
import type { Collection } from './store/collection.ts';
import type { ModelEntry } from './ml/model-catalog.ts';
import type { PackageEntry } from './ota/package-catalog.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export const defaultObjectsDir = path.resolve(here, '..', 'objects');

const USAGE = `Usage: tsx src/main.ts [--demo] [--devices N] [--coap-port 5683] [--http-port 8080] [--objects dir] [--data-dir dir] [--public-host host]
       [--log-level info] [--log-format auto|json|pretty]
       [--store memory|redis://host:port [--node-id id] [--workers N]] [--mqtt mqtt://host:port [--mqtt-prefix lwm2m] [--mqtt-commands]]
       [--coaps-port 5684] [--psk-file psk.json] [--no-plain]   (CoAP over DTLS 1.2; identities from /security, psk.json: {"identity": "hex key"})
       [--bootstrap-port 5783] [--bootstrap-coaps-port 5784]   (LwM2M Bootstrap-Server on its own ports, coaps with /bootstrap-security PSKs; configurations at /bootstrap/:endpoint)
       [--request-timeout ms]    (how long a DM request waits for the device, default 60000; ?timeout= per API request)
       [--read-device-info]      (read /3/0 and the ML Runtime /32003/0 of every device at registration and update: device profiles, issue 16)
       [--shutdown-timeout ms]   (SIGTERM/SIGINT: stop the API, let CoAP exchanges finish for at most ms, close)
`;

/** "UDP 5683 is in use: try --coap-port" instead of a stack trace from bind() */
function portInUse(e: unknown, proto: string, port: number, flag: string): never {
  if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new UsageError(`${proto} ${port} is in use: try --${flag}`);
  if ((e as NodeJS.ErrnoException).code === 'EACCES') throw new UsageError(`${proto} ${port} needs privileges: try --${flag} with a port above 1023`);
  throw e;
}

// A signal that arrives while the server is still starting is kept and acted on once it can stop cleanly.
let onSignal: (signal: NodeJS.Signals) => void = (signal) => void (earlySignal = signal);
let earlySignal: NodeJS.Signals | undefined;
process.once('SIGINT', (s) => onSignal(s));
process.once('SIGTERM', (s) => onSignal(s));

async function main(): Promise<void> {
  const { values } = parseCli({
      'coap-host': { type: 'string', default: '0.0.0.0' },
      'coap-port': { type: 'string', default: '5683' },
      'coaps-port': { type: 'string' },
      'psk-file': { type: 'string' },
      'no-plain': { type: 'boolean', default: false },
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
      'log-format': { type: 'string', default: 'auto' },
      'bootstrap-port': { type: 'string' },
      'bootstrap-coaps-port': { type: 'string' },
      'no-auth': { type: 'boolean', default: false },
      'read-device-info': { type: 'boolean', default: false },
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
      'lease-ms': { type: 'string', default: '15000' },
      workers: { type: 'string' },
      'request-timeout': { type: 'string', default: '60000' },
      help: { type: 'boolean', default: false },
      ...limitFlagOptions,
  });
  if (values.help) {
    process.stdout.write(USAGE + limitFlagsHelp);
    return;
  }
  // how long a DM request waits for the device (CoAP exchange with retransmissions); ?timeout= per request
  const requestTimeoutMs = intFlag('request-timeout', values['request-timeout'], 100, 3_600_000);
  const drainMs = intFlag('shutdown-timeout', values['shutdown-timeout'], 0, 600_000);
  const coapPort = portFlag('coap-port', values['coap-port']);
  const httpPort = portFlag('http-port', values['http-port']);
  const devices = intFlag('devices', values.devices, 0, 10_000);
  const logFormat = values['log-format'] as LogFormat;
  if (!['auto', 'json', 'pretty'].includes(logFormat)) throw new UsageError(`--log-format must be auto, json or pretty, got "${logFormat}"`);
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (values['log-level'] !== undefined && !levels.includes(values['log-level'])) throw new UsageError(`--log-level must be one of ${levels.join(', ')}`);
  if (values['node-id'] !== undefined && values.store === 'memory') throw new UsageError('--node-id needs a shared store: --store redis://host:port');
  const limits = readLimitFlags(values);
  // several worker processes behind one UDP port, each a cluster node (docs/cluster.md)
  const workers = values.workers === undefined ? undefined : intFlag('workers', values.workers, 1, 64);
  const workerProblem = workers === undefined ? undefined : workerFlagProblem(values);
  if (workerProblem) throw new UsageError(workerProblem);
  const httpHost = values['http-host']!;
  if (values['no-auth'] && !isLoopback(httpHost)) throw new UsageError(`--no-auth is for a loopback API only (the demo); --http-host is ${httpHost}`);
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  const rateLimit = { perAddress: intFlag('rate-limit', values['rate-limit'], 0), perToken: intFlag('rate-limit-token', values['rate-limit-token'], 0) };
  // the demo sets its fleet up through the API, one observation per device, in its first minute
  if (values.demo) for (const k of ['perAddress', 'perToken'] as const) if (rateLimit[k] > 0) rateLimit[k] = Math.max(rateLimit[k], devices + 20);
  if (values['no-auth'] && values['mqtt-commands']) throw new UsageError('--mqtt-commands needs tokens (each command carries one with the operator role): drop --no-auth');
  const mqttPassword = values['mqtt-password-file'] === undefined ? undefined : (await readFile(values['mqtt-password-file'], 'utf8')).replace(/\r?\n$/, '');
  const mqttCa = values['mqtt-ca'] === undefined ? undefined : await readFile(values['mqtt-ca']);
  const tls = values['tls-cert'] ? { cert: await readFile(values['tls-cert']), key: await readFile(values['tls-key']!) } : undefined;
  const log = createLogger(values['log-level'], logFormat);
  installProcessGuards(log);
  if (workers !== undefined && nodeCluster.isPrimary) {
    onSignal = await runWorkerPrimary({ workers, nodeId: values['node-id'] ?? `${os.hostname()}-${process.pid}`, log, drainMs, signingKeyGiven: values['signing-key'] !== undefined || values['data-dir'] !== undefined });
    if (earlySignal) onSignal(earlySignal);
    return;
  }
  const role = workers === undefined ? undefined : workerRole();
  const store = await openRegistrationStore(values.store!, log);
  // on a Redis store the node joins the cluster of nodes sharing it (docs/cluster.md)
  const shared = values.store !== 'memory';
  const nodeId = role?.nodeId ?? (shared ? values['node-id'] ?? `${os.hostname()}-${process.pid}` : undefined);
  // with Redis, deployments and model metadata are shared by the nodes too
  const deploymentStore = shared ? await RedisDeploymentStore.open(values.store!, undefined, log.child({ component: 'store' })) : undefined;
  const modelStore = shared ? await RedisCollection.open<ModelEntry>(values.store!, 'models', undefined, log.child({ component: 'store' })) : undefined;
  const packageStore = shared ? await RedisCollection.open<PackageEntry>(values.store!, 'packages', undefined, log.child({ component: 'store' })) : undefined;
  // and package bytes: any node serves a package any node accepted (issue 9)
  const packageBlobs = shared ? await RedisPackageRepository.open(values.store!, { log: log.child({ component: 'store' }) }) : undefined;
  // packages are signed with the server's key; deployments of unsigned ones need an admin (docs/package-signing.md)
  const packageSigning = await openPackageSigning({ keyFile: values['signing-key'], dataDir: values['data-dir'], redisUrl: shared ? values.store : undefined, log: log.child({ component: 'signing' }) });
  // security info (issue 12 §2) lives beside the registrations: Redis when shared, else the data dir
  const security = await openSecurityStore({ store: shared ? values.store : undefined, dataDir: values['data-dir'], log });
  // coaps:// (issue 12): the security store answers the handshakes; --psk-file adds identities of its own
  let dtls: { port: number; credentials: DtlsCredentials } | undefined;
  if (values['coaps-port'] !== undefined || values['psk-file'] !== undefined || values['no-plain']) {
    const fromStore = dtlsCredentialsFromStore(security);
    const file = values['psk-file'] === undefined ? undefined : loadPskFile(values['psk-file']);
    if (file && 'error' in file) throw new UsageError(file.error.message);
    if (file) log.info({ identities: file.identities }, 'PSK identities loaded');
    dtls = {
      port: portFlag('coaps-port', values['coaps-port'] ?? '5684'),
      credentials: {
        ...(file?.credentials ?? {}),
        pskKey: async (identity) => (await fromStore.pskKey(identity)) ?? (await file?.credentials.pskKey?.(identity)),
        rpkTrusted: async (spki) => (await fromStore.rpkTrusted(spki)) || (await file?.credentials.rpkTrusted?.(spki)) === true,
      },
    };
  }
  // a worker reads the primary's shared UDP socket through the affinity layer
  const transport = role ? await openWorkerTransport(role, { host: values['coap-host']!, port: coapPort }).catch((e: unknown) => portInUse(e, 'UDP', coapPort, 'coap-port')) : undefined;
  const platform = await Platform.start({
    log, objectsDir: values.objects!, coapHost: values['coap-host'], coapPort, store, nodeId, security, dtls, plain: !values['no-plain'], requestTimeoutMs, transport,
    dataDir: values['data-dir'], publicHost: values['public-host'], deploymentStore, modelStore, packageStore, packageBlobs,
    registrationLimits: limits.registrationLimits, block1Limits: limits.block1Limits,
    maxPendingPerDevice: limits.maxPendingPerDevice, maxQueuedPerDevice: limits.maxQueuedPerDevice, signing: packageSigning.signing,
    ml: { readDeviceInfoOnRegistration: values['read-device-info'] },
  }).catch((e: unknown) => portInUse(e, 'UDP', coapPort, 'coap-port'));
  const server = platform.server;
  const cluster = shared ? await ClusterNode.start({ url: values.store!, nodeId: nodeId!, server, log: log.child({ component: 'cluster' }) }) : undefined;
  // deployments by lease: this node renews its own, takes over a dead node's (docs/cluster.md)
  const leaseMs = Number(values['lease-ms']);
  if (!Number.isInteger(leaseMs) || leaseMs < 300) throw new UsageError(`--lease-ms must be an integer >= 300, got "${values['lease-ms']}"`);
  const leases = shared ? DeploymentLeases.connect(values.store!, { nodeId: nodeId!, ttlMs: leaseMs }) : undefined;
  const takeover = leases && deploymentStore ? new DeploymentTakeover({
    nodeId: nodeId!, leases, store: deploymentStore, resume: () => platform.engine.resume(), log: log.child({ component: 'cluster' }),
  }) : undefined;
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
  // the Bootstrap-Server (issue 12 §3): its configurations are stored like the security info
  let bootstrapConfigs: (Collection<BootstrapConfig> & { close?(): Promise<void> }) | undefined;
  let bootstrap: BootstrapServer | undefined;
  let bootstrapSecurity: Awaited<ReturnType<typeof openSecurityStore>> | undefined;
  if (values['bootstrap-port'] !== undefined && values['no-plain']) throw new UsageError('--bootstrap-port is plain CoAP: with --no-plain use --bootstrap-coaps-port');
  if (values['bootstrap-port'] !== undefined || values['bootstrap-coaps-port'] !== undefined) {
    bootstrapSecurity = await openSecurityStore({ store: shared ? values.store : undefined, dataDir: values['data-dir'], log, of: 'bootstrap' });
    bootstrapConfigs = shared ? await RedisCollection.open<BootstrapConfig>(values.store!, 'bootstrap')
      : values['data-dir'] ? await JsonCollection.open<BootstrapConfig>(path.join(values['data-dir'], 'bootstrap.json')) : JsonCollection.memory<BootstrapConfig>();
    bootstrap = await BootstrapServer.start({
      log: log.child({ component: 'bootstrap' }), models: server.models, configs: bootstrapConfigs, security, bootstrapSecurity,
      host: values['coap-host'], ...(values['bootstrap-port'] !== undefined ? { port: portFlag('bootstrap-port', values['bootstrap-port']) } : { plain: false }),
      ...(values['bootstrap-coaps-port'] !== undefined ? { dtls: { port: portFlag('bootstrap-coaps-port', values['bootstrap-coaps-port']) } } : {}),
    });
    log.info({ bootstrap: values['bootstrap-port'] !== undefined ? bootstrap.address : undefined, bootstrapCoaps: bootstrap.coapsAddress }, 'Bootstrap-Server started');
  }
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
  const api = await buildApi({ server, log, platform, bootstrap, metrics: createServerMetrics(server, { mqtt, nodeId, cluster, takeover }), events: cluster?.fleetEvents, sseLimits: limits.sseLimits, access, tls });
  try {
    await api.listen({ host: httpHost, port: httpPort });
  } catch (e) {
    await platform.stop();
    portInUse(e, 'TCP', httpPort, 'http-port');
  }
  const httpUrl = `${tls ? 'https' : 'http'}://${httpHost}:${(api.server.address() as { port: number }).port}`;
  log.info({ node: nodeId, coap: values['no-plain'] ? undefined : server.coapAddress, coaps: server.coapsAddress, http: httpUrl, auth: !values['no-auth'] }, role ? 'worker started' : 'TinyMLaaS server started');
  if (role) reportWorkerReady(server.coapAddress, httpUrl);

  let stopFleet: (() => Promise<void>) | undefined;
  if (values.demo) {
    // the demo fleet is a separate concern: loaded only when asked for, never by the server itself
    const { startDemo } = await import('../simulators/demo.ts');
    // with tokens on, the demo acts as a deployer of its own
    const token = values['no-auth'] ? undefined : (await accessStores.tokens.create('demo', 'deployer')).secret;
    stopFleet = await startDemo({ token, server: `127.0.0.1:${server.coapAddress.port}`, count: devices, log: log.child({ component: 'demo' }), apiUrl: httpUrl });
  }

  let stopping = false;
  let exitCode = 0;
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
      // stops accepting API connections at once; new requests on kept-alive connections get 503
      // with Connection: close; those under way finish (with their CoAP exchanges) or get 503 at
      // the deadline
      const http = await HttpDrain.of(api)!.drain(api, drainMs);
      if (!http.drained) log.warn(http, 'API requests left unfinished');
      else log.info(http, 'API requests drained');
      await coapDrained;
      const drained = await server.drain(Math.max(0, deadline - Date.now()));
      log.info(drained, drained.drained ? 'CoAP exchanges drained' : 'CoAP exchanges left unfinished');
      // work was cut off: say so to the supervisor (issue 14 §2)
      if (!http.drained || !drained.drained) exitCode = 1;
      await mqtt?.close();
      // leases are not released: this node resumes its deployments if it is back within a lease
      // period, another node takes them over otherwise
      await takeover?.stop();
      leases?.close();
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
      await packageStore?.close();
      await packageBlobs?.close();
      await accessStores.close();
      await packageSigning.close();
    } catch (e) {
      log.error({ err: (e as Error).message }, 'shutdown failed');
      process.exit(1);
    }
    log.info({ exitCode }, 'stopped');
    // pino writes asynchronously: flush the last lines before the process ends
    log.flush(() => process.exit(exitCode));
  };
  onSignal = (signal) => void shutdown(signal);
  // SIGINT after SIGTERM (or the other way round) is the same request
  process.once('SIGINT', (s) => onSignal(s));
  process.once('SIGTERM', (s) => onSignal(s));
  if (earlySignal) onSignal(earlySignal);
}

main().catch((e: unknown) => {
  exitOnError(USAGE)(e);
  // whatever was started before the error (a store connection, a socket) must not keep the process alive
  process.exit(process.exitCode);
});
