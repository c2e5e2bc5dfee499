// TinyMLaaS as a whole: the LwM2M server plus model delivery (package repository, package
// server, deployments) and the ML extension (model catalog, compiler, fleet ML status).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadObjectModels } from './lwm2m/ddf-loader.ts';
import { FleetMlIndex } from './ml/device-ml.ts';
import { CompilerService } from './ml/compiler-service.ts';
import { ModelCatalog, type ModelEntry } from './ml/model-catalog.ts';
import { startMlOperations, type MlOperations, type MlOperationsOptions } from './ml/ml-operations.ts';
import { DeploymentEngine } from './ota/deployment-engine.ts';
import { FirmwareIndex } from './ota/firmware-index.ts';
import { PackageCatalog, type PackageEntry } from './ota/package-catalog.ts';
import { FilePackageRepository, MemoryPackageRepository, type PackageRepository } from './ota/package-repository.ts';
import { createPackageHandler, PACKAGE_PATH, packageUri } from './ota/package-server.ts';
import { LwM2mServer, type ServerOptions } from './server.ts';
import type { PackageSigning } from './signing/package-signing.ts';
import { signedDelivery } from './signing/signed-delivery.ts';
import type { Collection } from './store/collection.ts';
import { openDeploymentStore, type DeploymentStore } from './store/deployment-store.ts';
import { JsonCollection } from './store/json-collection.ts';
import { knownIdentity } from './security/known-identity.ts';

export type PlatformOptions = ServerOptions & {
  /** where packages, models and deployments persist; everything stays in memory when absent */
  dataDir?: string;
  /** host name devices use to pull packages (coap://<host>:<port>/fw/<digest>) */
  publicHost?: string;
  /** read fallback period while following update state */
  pollMs?: number;
  /** shared stores (Redis) for deployments and model metadata; dataDir files or memory otherwise */
  deploymentStore?: DeploymentStore;
  modelStore?: Collection<ModelEntry>;
  /** shared store (Redis) for package metadata; dataDir file or memory otherwise */
  packageStore?: Collection<PackageEntry>;
  /** shared store (Redis) for package bytes, so every node serves what any node accepted; dataDir files or memory otherwise */
  packageBlobs?: PackageRepository;
  /** the coaps port written into pull URIs for devices registered over DTLS; the CoAP port when absent */
  coapsPort?: number;
  /**
   * package signatures (docs/package-signing.md): packages go out with their signature block and
   * deployments of unsigned ones are refused unless allowed; absent, nothing is signed (tests)
   */
  signing?: PackageSigning;
  /** device profiles, probe sets, quality canaries, model health (issue 16) */
  ml?: MlOperationsOptions;
};

/**
 * Deployments resume after a store outage once the registrations (the flows look every device up)
 * and the deployment records answer again, and the registrations lost with an emptied Redis are
 * written back: before that, a device would look unregistered.
 */
function storeProbe(server: LwM2mServer, deployments: DeploymentStore): () => Promise<boolean> {
  return async () => {
    const regs = server.registrations.store;
    if (regs.ping && !(await regs.ping())) return false;
    await regs.settled?.();
    await deployments.get('\u0000probe');
    return true;
  };
}

export class Platform {
  private constructor(
    readonly server: LwM2mServer,
    readonly repo: PackageRepository,
    readonly catalog: ModelCatalog,
    readonly engine: DeploymentEngine,
    readonly fleetMl: FleetMlIndex,
    readonly packages: PackageCatalog,
    readonly firmware: FirmwareIndex,
    readonly signing: PackageSigning | undefined,
    /** where packages, models, deployments and uploaded object definitions persist */
    readonly dataDir: string | undefined,
    /** device profiles, probe sets, profile-aware rollouts with quality canaries, model health */
    readonly ml: MlOperations,
  ) {}

  static async start(opts: PlatformOptions): Promise<Platform> {
    const server = await LwM2mServer.start(opts);
    // object definitions uploaded with POST /objects come back after a restart
    if (opts.dataDir && existsSync(path.join(opts.dataDir, 'objects'))) {
      for (const m of loadObjectModels(path.join(opts.dataDir, 'objects')).all()) server.models.add(m);
    }
    const repo: PackageRepository = opts.packageBlobs ?? (opts.dataDir ? new FilePackageRepository(path.join(opts.dataDir, 'blobs')) : new MemoryPackageRepository());
    const packageBytes = { served: 0 };
    // what devices receive: the package with its signature block, when it has one
    const delivery = opts.signing ? signedDelivery(repo, opts.signing) : repo;
    server.addResource(PACKAGE_PATH, createPackageHandler(delivery, (_d, n) => {
      packageBytes.served += n;
    }, knownIdentity(server.security)));
    const models = opts.modelStore ?? (opts.dataDir ? await JsonCollection.open<ModelEntry>(path.join(opts.dataDir, 'models.json')) : JsonCollection.memory<ModelEntry>());
    const catalog = new ModelCatalog(models, repo, new CompilerService());
    const store = opts.deploymentStore ?? await openDeploymentStore(opts.dataDir ? path.join(opts.dataDir, 'deployments.json') : undefined);
    const host = opts.publicHost ?? (opts.coapHost && opts.coapHost !== '0.0.0.0' ? opts.coapHost : '127.0.0.1');
    const engine = new DeploymentEngine({
      server, repo: delivery, store, log: opts.log.child({ component: 'ota' }), pollMs: opts.pollMs, nodeId: opts.nodeId,
      storeProbe: storeProbe(server, store),
      packageUri: async (digest, endpoint) => {
        // a device registered over DTLS pulls over coaps (issue 12 §2)
        const secured = (await server.registrations.byEndpoint(endpoint))?.address.identity !== undefined;
        return secured ? packageUri(host, opts.coapsPort ?? server.coapsAddress?.port ?? server.coapAddress.port, digest, 'coaps') : packageUri(host, server.coapAddress.port, digest);
      },
    });
    const packageItems = opts.packageStore ?? (opts.dataDir ? await JsonCollection.open<PackageEntry>(path.join(opts.dataDir, 'packages.json')) : JsonCollection.memory<PackageEntry>());
    const packages = new PackageCatalog(
      packageItems, repo,
      async (digest) => (await engine.list()).some((d) => d.status === 'running' && d.moduleDigest === digest),
      async (digest) => (await catalog.list()).some((m) => m.onnxDigest === digest || Object.values(m.modules).some((mod) => mod.moduleDigest === digest)),
    );
    const fleetMl = new FleetMlIndex(server);
    const firmware = new FirmwareIndex(server);
    server.events.on((e) => {
      if (e.type === 'deployment' && e.endpoint && (e.state === 'done' || e.state === 'failed')) {
        fleetMl.refresh(e.endpoint).catch(() => undefined);
        // firmware versions are read again after firmware rollouts only (three reads per device)
        const endpoint = e.endpoint;
        engine.packageKindOf(e.deploymentId).then((kind) => (kind === 'firmware' ? firmware.refresh(endpoint) : undefined)).catch(() => undefined);
      }
      if (e.type === 'deregistration' && e.reason !== 'replaced') firmware.forget(e.registration.endpoint);
    });
    const ml = await startMlOperations({ server, engine, catalog, repo: delivery, fleetMl, log: opts.log, dataDir: opts.dataDir, signing: opts.signing }, opts.ml);
    const platform = new Platform(server, repo, catalog, engine, fleetMl, packages, firmware, opts.signing, opts.dataDir, ml);
    await engine.resume();
    return platform;
  }

  async stop(): Promise<void> {
    await this.ml.rollouts.stop();
    await this.engine.stop();
    await this.server.stop();
  }
}
