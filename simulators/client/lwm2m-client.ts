// A simulated LwM2M 1.1 client standing in for an ESP32-class node: registers, updates, answers
// DM operations, serves observations with notification attributes, reports with Send, sleeps
// in queue mode, and injects faults (packet loss, latency, reboot). Built on the same CoAP stack
// and codecs as the server, never on the server itself.
import type { Logger } from 'pino';
import { CoapEndpoint, CoapRequestError, type InboundRequest, type OutboundResponse } from '../../src/coap/endpoint.ts';
import { Code, Method, Option, codeText, getOption, getOptions, uriPath } from '../../src/coap/message.ts';
import { parseMessage } from '../../src/coap/wire.ts';
import { UdpTransport, type DatagramTransport, type Peer } from '../../src/coap/transport.ts';
import { DtlsClient } from '../../src/dtls/client.ts';
import type { DtlsClientCredentials } from '../../src/dtls/credentials.ts';
import type { CoapTiming } from '../../src/coap/timing.ts';
import { CodecError, decodeNode, decodePaths, encodeNode, encodeRecords, supportsLevel } from '../../src/lwm2m/codec.ts';
import { ContentFormat, isContentFormat } from '../../src/lwm2m/content-format.ts';
import { serializeLinks, type Link } from '../../src/lwm2m/link-format.ts';
import type { LwM2mRecord } from '../../src/lwm2m/node.ts';
import type { ModelLookup } from '../../src/lwm2m/object-model.ts';
import { formatPath, isPrefixOf, type LwM2mPath } from '../../src/lwm2m/path.ts';
import { nodeToRecords } from '../../src/lwm2m/records.ts';
import type { DeviceProfile as RuntimeProfile } from '../../compiler/runtime/index.ts';
import { targets } from '../../compiler/targets/index.ts';
import type { DeviceProfile } from './device-profile.ts';
import { bootstrapHandler, dtlsCredentialsOf, lwm2mServerAccount, type AccountCredentials, type ServerAccount } from './bootstrap-client.ts';
import { FirmwareUpdate } from './firmware-update.ts';
import { ML_INFERENCE, ML_MODEL, MlObjects } from './ml-objects.ts';
import { installMlRuntime, ML_RUNTIME, runtimeReport, type MlRuntimeReport } from './ml-runtime.ts';
import { DeviceError, ObjectStore } from './object-store.ts';
import { SoftwareManagement } from './software-management.ts';
import { installStandardObjects } from './standard-objects.ts';
import { seededRandom, seedOf } from './seeded-random.ts';

/** The server answered a Register with something other than 2.01 Created. */
export class RegistrationAnswerError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}
export type Faults = {
  /** percent of datagrams dropped, each direction */
  lossPercent?: number;
  /** added one-way delay for outgoing datagrams, ms */
  latencyMs?: number;
  /** seed of the loss pattern (default: from the endpoint name), so a lossy run repeats */
  seed?: number;
};

export type ClientOptions = {
  endpoint: string;
  /** the LwM2M server; absent when the device gets its account from `bootstrap` */
  server?: Peer;
  /**
   * factory bootstrap information (Core §5.2.3): a device without a LwM2M server account sends a
   * Bootstrap-Request here first; `preferredFormat` is its pct (1.1), absent for a 1.0 device
   */
  bootstrap?: { server: Peer; credentials?: AccountCredentials; preferredFormat?: ContentFormat; timeoutMs?: number };
  /** the datagram layer for an account (DTLS with its credentials); plain UDP when absent */
  openTransport?: (account: ServerAccount) => Promise<DatagramTransport>;
  models: ModelLookup;
  profile: DeviceProfile;
  log: Logger;
  bindAddress?: string;
  lifetime?: number;
  lwm2mVersion?: '1.0' | '1.1' | '1.2';
  /** binding letters; include Q for queue mode (1.0 style) or set queueMode */
  queueMode?: boolean;
  /** how long the radio stays on after each exchange in queue mode */
  awakeTimeMs?: number;
  /** content formats announced with ct= on the root link; [] announces none */
  contentFormats?: number[];
  /** format used when a request has no Accept (Wakaama answers 5.00 instead: set 'error') */
  defaultFormat?: ContentFormat | 'error';
  /** announce an alternate root path like "/lwm2m" */
  rootPath?: string;
  faults?: Faults;
  timing?: Partial<CoapTiming>;
  /** update the registration by itself at 90% of the lifetime */
  autoUpdate?: boolean;
  confirmableNotifications?: boolean;
  maxBodySize?: number;
  /**
   * the module runtime's view of the device (compiler/targets): default the target with the
   * profile's id; null skips the target and footprint checks of delivered modules
   */
  target?: RuntimeProfile | null;
  /** Block2 size of pull downloads (16..1024); default 512 */
  downloadBlockSize?: number;
  /** from Firmware Update's Update (State 3) to the reboot, ms; default 100 */
  firmwareUpdateDelayMs?: number;
  /** pause between the visible state changes of a delivery, ms; default 20 */
  updateStepDelayMs?: number;
  /** a Package push (Block1) whose next block does not come within this time is lost; default 30 s */
  pushIdleTimeoutMs?: number;
  /**
   * an ordinary device that only has Firmware Update: no Software Management (9), no ML objects
   * (32001/32002); it flashes plain firmware images (firmware-image.ts), with the delivery
   * methods (/5/0/9) and protocols (/5/0/8) given
   */
  firmwareOnly?: { deliveryMethod?: 0 | 1 | 2; protocols?: readonly number[] };
  /**
   * Ed25519 public keys (raw 32 bytes) provisioned at the factory or bootstrap, at most two (key
   * rotation): when given, every package must be signed by one of them (docs/package-signing.md)
   */
  trustedKeys?: readonly Uint8Array[];
  /**
   * CoAP over DTLS 1.2 to the server (coaps://) with these credentials, and for coaps:// package
   * URIs; plain CoAP when absent
   */
  dtls?: DtlsClientCredentials;
  /** what the ML Runtime object (32003) reports instead of the target's figures (issue 16) */
  mlRuntime?: Partial<MlRuntimeReport>;
};

type Attributes = Partial<Record<'pmin' | 'pmax' | 'gt' | 'lt' | 'st', number>>;

type Observer = {
  peer: Peer;
  token: Buffer;
  path: LwM2mPath;
  uriPath: string[];
  format: ContentFormat;
  seq: number;
  lastSent: number;
  lastValue?: number;
  pending?: NodeJS.Timeout;
  pmaxTimer?: NodeJS.Timeout;
};

const ATTR_NAMES = ['pmin', 'pmax', 'gt', 'lt', 'st', 'epmin', 'epmax'] as const;

export class SimulatedClient {
  readonly store: ObjectStore;
  /** ML Model (32001) and ML Inference (32002); undefined when the models lack those objects */
  readonly ml: MlObjects | undefined;
  private readonly softwareRef: SoftwareManagement | undefined;
  readonly firmware: FirmwareUpdate;
  private endpointRef: CoapEndpoint | undefined;
  private registrationPath: string[] | undefined;
  private readonly observers = new Map<string, Observer>();
  private readonly attributes = new Map<string, Attributes>();
  private updateTimer: NodeJS.Timeout | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private linksTimer: NodeJS.Timeout | undefined;
  /** the object links last sent with Register or Update */
  private linksSent: string | undefined;
  private asleep = false;
  private stopped = false;
  /** sockets opened so far: each draws its loss pattern from the next seed */
  private socketsOpened = 0;
  /** set while the Bootstrap-Server configures the device: its requests go to the bootstrap handler */
  private bootstrapping: ((req: InboundRequest) => OutboundResponse) | undefined;
  private seq = 1;
  /** the DTLS session under the LwM2M socket, when the device talks coaps */
  private dtlsTransport: DtlsClient | undefined;
  faults: Faults;
  /** counters a test can assert on */
  readonly stats = { registrations: 0, updates: 0, requestsServed: 0, notificationsSent: 0, reboots: 0, bootstraps: 0 };
  /** the Content-Format of the last payload the server sent (Write, Create): lets a test check what the server chose */
  lastReceivedFormat: number | undefined;

  constructor(readonly opts: ClientOptions) {
    this.faults = opts.faults ?? {};
    this.store = new ObjectStore(opts.models);
    if (!opts.server && !opts.bootstrap) throw new Error(`${opts.endpoint}: a client needs a server or bootstrap information`);
    installStandardObjects(this.store, {
      serverUri: opts.server ? `${opts.dtls ? 'coaps' : 'coap'}://${opts.server.address}:${opts.server.port}` : '',
      security: opts.dtls,
      shortServerId: 123,
      lifetime: opts.lifetime ?? 300,
      binding: opts.queueMode ? 'UQ' : 'U',
      serial: `SN-${opts.endpoint}`,
      profile: opts.profile,
      ipAddress: opts.bindAddress ?? '127.0.0.1',
      withoutSoftwareManagement: opts.firmwareOnly !== undefined,
    });
    if (opts.bootstrap) {
      // factory state: only the Bootstrap-Server account (Core E.1: resource 1 true), no Server instance
      const bs = opts.bootstrap;
      const creds = bs.credentials ?? { mode: 'nosec' };
      const host = bs.server.address.includes(':') ? `[${bs.server.address}]` : bs.server.address;
      this.store.setInstance(0, 0, {
        0: `${creds.mode === 'psk' ? 'coaps' : 'coap'}://${host}:${bs.server.port}`, 1: true, 2: creds.mode === 'psk' ? 0 : 3,
        3: creds.mode === 'psk' ? new Uint8Array(Buffer.from(creds.identity)) : new Uint8Array(), 4: new Uint8Array(),
        5: creds.mode === 'psk' ? new Uint8Array(creds.key) : new Uint8Array(),
      });
      this.store.removeInstance(1, 0);
    }
    const target = opts.target === undefined ? targets().get(opts.profile.id) : (opts.target ?? undefined);
    const fwOnly = opts.firmwareOnly;
    const fullTarget = targets().get(opts.profile.id);
    this.ml = !fwOnly && opts.models.object(ML_MODEL) && opts.models.object(ML_INFERENCE) ? new MlObjects(this.store, target, fullTarget) : undefined;
    if (this.ml && opts.models.object(ML_RUNTIME)) {
      const ml = this.ml;
      const runtime = installMlRuntime(this.store, runtimeReport(fullTarget, opts.mlRuntime), () => ml.flashUsed());
      ml.onModulesChange(runtime.refresh);
    }
    // a device given a secured transport pulls coaps:// URIs over it (the DTLS session of its account)
    const download = { openEndpoint: (to: Peer, secure: boolean) => this.openEndpoint(false, secure ? to : undefined), blockSize: opts.downloadBlockSize ?? 512, coaps: opts.dtls !== undefined || opts.openTransport !== undefined || opts.bootstrap !== undefined };
    if ((opts.trustedKeys?.length ?? 0) > 2) throw new Error('a device holds at most two signing keys');
    const steps = { stepDelayMs: opts.updateStepDelayMs, pushIdleTimeoutMs: opts.pushIdleTimeoutMs, trustedKeys: opts.trustedKeys };
    this.softwareRef = fwOnly ? undefined : new SoftwareManagement(this.store, this.ml, { profile: target, download, ...steps });
    const rebootIntoFirmware = (): Promise<void> =>
      this.reboot().catch((e: unknown) => opts.log.warn({ endpoint: opts.endpoint, err: (e as Error).message }, 'reboot after the firmware update failed'));
    this.firmware = new FirmwareUpdate(this.store, this.ml, {
      profile: target, download, reboot: rebootIntoFirmware, updateDelayMs: opts.firmwareUpdateDelayMs, ...steps,
      ...(fwOnly ? { images: 'firmware' as const, deliveryMethod: fwOnly.deliveryMethod, protocols: fwOnly.protocols } : {}),
    });
    this.store.onExecute(1, 8, () => void this.update()); // Registration Update Trigger
    this.store.onExecute(3, 4, () => {
      setTimeout(() => void this.reboot(), 50); // Reboot: answer 2.04 first (Core E.4)
    });
    this.store.onChange((p) => {
      if (p.length <= 2) this.scheduleLinksUpdate(); // an instance came or went
      this.valueChanged(p);
    });
  }

  get endpoint(): string {
    return this.opts.endpoint;
  }

  /** Software Management (Object 9); a firmware-only device has none. */
  get software(): SoftwareManagement {
    if (!this.softwareRef) throw new Error(`${this.opts.endpoint} is a firmware-only device: it has no Software Management object`);
    return this.softwareRef;
  }

  get coap(): CoapEndpoint {
    if (!this.endpointRef) throw new Error(`${this.opts.endpoint} is not started`);
    return this.endpointRef;
  }

  get address(): Peer {
    return this.coap.address;
  }

  get registered(): boolean {
    return this.registrationPath !== undefined;
  }

  get registrationId(): string | undefined {
    return this.registrationPath?.[1];
  }

  get isAsleep(): boolean {
    return this.asleep;
  }

  /** Opens the socket without registering (benchmarks separate the two). */
  async open(): Promise<void> {
    const ep = await this.openEndpoint(true);
    ep.onRequest((req) => this.handle(req));
    this.endpointRef = ep;
  }

  /**
   * A new UDP socket with the device's fault filters: the LwM2M socket, or (main false) the one a
   * pull download uses, which a sleeping radio does not mute (it is only open while downloading).
   */
  private async openEndpoint(main: boolean, securedPeer?: Peer): Promise<CoapEndpoint> {
    const host = this.opts.bindAddress ?? '127.0.0.1';
    const open = this.opts.openTransport;
    // a bootstrapped device secures each account with the credentials in its Security object
    const account = !open && this.opts.bootstrap ? this.currentAccount() : undefined;
    const credentials = account ? dtlsCredentialsOf(account) : this.opts.dtls;
    const dtlsPeer = main ? (credentials && (account ? account.peer : this.opts.server)) : securedPeer;
    let transport: DatagramTransport;
    if (open) {
      transport = await open(this.currentAccount());
    } else if (dtlsPeer) {
      if (!credentials) throw new Error('a coaps:// download needs DTLS credentials');
      const dtls = await DtlsClient.open({ server: dtlsPeer, credentials, host, log: this.opts.log });
      if (main) this.dtlsTransport = dtls;
      transport = dtls;
    } else {
      transport = await UdpTransport.open({ host, port: 0 });
    }
    // each socket its own repeatable loss pattern (the device's seed, then one more per socket)
    const draw = seededRandom((this.faults.seed ?? seedOf(this.opts.endpoint)) + this.socketsOpened++);
    const lost = (): boolean => (this.faults.lossPercent ?? 0) > 0 && draw() * 100 < this.faults.lossPercent!;
    return new CoapEndpoint({
      transport,
      log: this.opts.log,
      timing: this.opts.timing,
      maxBodySize: this.opts.maxBodySize ?? 4 * 1024 * 1024,
      inboundFilter: (data) => {
        if ((main && this.asleep) || lost()) return false;
        if (main) this.watchPackagePush(data);
        return true;
      },
      outboundFilter: (data, peer) => {
        if (lost()) return false;
        const delay = this.faults.latencyMs ?? 0;
        if (delay > 0) {
          setTimeout(() => {
            if (!this.stopped) transport.send(data, peer);
          }, delay);
          return false;
        }
        return true;
      },
    });
  }

  async start(): Promise<void> {
    if (this.opts.bootstrap && !lwm2mServerAccount(this.store)) await this.bootstrap();
    else await this.open();
    await this.registerWithRetry();
  }

  /** The LwM2M server this device talks to: its provisioned account (bootstrapped), else the configured server. */
  private get server(): Peer {
    if (!this.opts.bootstrap) return this.opts.server!;
    const account = lwm2mServerAccount(this.store);
    if (!account) throw new Error(`${this.opts.endpoint} has no LwM2M server account`);
    return account.peer;
  }

  private registrationLifetime(): number {
    return (this.opts.bootstrap ? lwm2mServerAccount(this.store)?.lifetime : undefined) ?? this.opts.lifetime ?? 300;
  }

  /** The account the next socket is for: the Bootstrap-Server while bootstrapping, else the LwM2M server. */
  private currentAccount(): ServerAccount {
    const bs = this.opts.bootstrap;
    if (!bs) return { uri: '', peer: this.opts.server!, bootstrap: false, credentials: { mode: 'nosec' } };
    if (this.bootstrapping) return { uri: '', peer: bs.server, bootstrap: true, credentials: bs.credentials ?? { mode: 'nosec' } };
    const account = lwm2mServerAccount(this.store);
    if (!account) throw new Error(`${this.opts.endpoint} has no LwM2M server account`);
    return account;
  }

  /**
   * Client-initiated bootstrap (Core §5.2.3, Transport §6.1): Bootstrap-Request to the factory
   * Bootstrap-Server, its Discover/Delete/Write/Read answered from the object store, then
   * Bootstrap-Finish; the socket is then reopened for the provisioned LwM2M server account.
   */
  async bootstrap(): Promise<void> {
    const bs = this.opts.bootstrap;
    if (!bs) throw new Error(`${this.opts.endpoint} has no bootstrap information`);
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    this.bootstrapping = bootstrapHandler(this.store, this.opts.models, () => finish());
    try {
      await this.endpointRef?.close();
      await this.open();
      const query = [`ep=${this.opts.endpoint}`, ...(bs.preferredFormat !== undefined ? [`pct=${bs.preferredFormat}`] : [])];
      const res = await this.coap.request(bs.server, { method: Method.POST, path: ['bs'], query });
      if (res.code !== Code.CHANGED) throw new Error(`${this.opts.endpoint}: Bootstrap-Request answered ${codeText(res.code)} ${res.payload.toString()}`);
      let timer: NodeJS.Timeout | undefined;
      const timeoutMs = bs.timeoutMs ?? 60_000;
      await Promise.race([finished, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${this.opts.endpoint}: no Bootstrap-Finish within ${timeoutMs} ms`)), timeoutMs)))])
        .finally(() => clearTimeout(timer));
    } finally {
      this.bootstrapping = undefined;
    }
    this.stats.bootstraps++;
    // the account's own session: a new socket (a new DTLS association with the provisioned credentials)
    await this.endpointRef?.close();
    await this.open();
  }

  // ------------------------------------------------------------ registration interface

  links(): Link[] {
    const root = this.opts.rootPath ?? '';
    const formats = this.opts.contentFormats ?? [ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON, ContentFormat.TLV];
    const out: Link[] = [];
    const rootAttrs: Record<string, string | true> = { rt: '"oma.lwm2m"' };
    if (formats.length > 0) rootAttrs.ct = formats.length === 1 ? String(formats[0]) : `"${formats.join(' ')}"`;
    if (root !== '' || formats.length > 0) out.push({ uri: root === '' ? '/' : root, attributes: rootAttrs });
    for (const o of this.store.objectIds()) {
      const ver = this.opts.models.object(o)?.version;
      const ids = this.store.instanceIds(o);
      const attrs: Record<string, string | true> = ver && ver !== '1.0' ? { ver } : {};
      if (ids.length === 0 || Object.keys(attrs).length > 0) out.push({ uri: `${root}/${o}`, attributes: attrs });
      for (const i of ids) if (o !== 0) out.push({ uri: `${root}/${o}/${i}`, attributes: {} });
    }
    return out;
  }

  async register(): Promise<void> {
    const version = this.opts.lwm2mVersion ?? '1.1';
    const binding = this.opts.queueMode ? (version === '1.0' ? 'UQ' : 'U') : 'U';
    const query = [`ep=${this.opts.endpoint}`, `lt=${this.registrationLifetime()}`, `lwm2m=${version}`, `b=${binding}`];
    if (this.opts.queueMode && version !== '1.0') query.push('Q');
    this.asleep = false;
    const links = serializeLinks(this.links());
    const res = await this.coap.request(this.server, {
      method: Method.POST, path: ['rd'], query, contentFormat: ContentFormat.LINK,
      payload: Buffer.from(links),
    });
    this.linksSent = links;
    if (res.code !== Code.CREATED) throw new RegistrationAnswerError(res.code, `${this.opts.endpoint}: registration answered ${codeText(res.code)} ${res.payload.toString()}`);
    this.registrationPath = getOptions(res, Option.LOCATION_PATH).map((b) => b.toString('utf8'));
    this.stats.registrations++;
    this.afterContact();
    this.scheduleUpdate();
  }

  /**
   * Registration with retries, as LwM2M 1.1 clients do (Server object resources 17-20,
   * Communication Retry Count / Timer, shortened for simulation): a lost registration is tried
   * again, not given up.
   */
  async registerWithRetry(attempts = 4, delayMs = 1000): Promise<void> {
    for (let i = 1; ; i++) {
      try {
        await this.register();
        return;
      } catch (e) {
        // only a lost exchange is retried here; an answer (4.xx, 5.03) is the server's word
        const lost = e instanceof CoapRequestError && e.code === 'TIMEOUT';
        if (!lost || i >= attempts || this.stopped) throw e;
        await new Promise((r) => setTimeout(r, delayMs * i));
        await this.renewDtls();
      }
    }
  }

  /** Registration Update (Transport §6.2.2); re-registers when the server forgot us (4.04). */
  /**
   * After a lost exchange over DTLS the server may have dropped the association (idle eviction, a
   * restart): a new handshake, resuming the session where the server still knows it (as Anjay
   * does; Wakaama runs a full one). A failure here leaves the next attempt to try again.
   */
  private async renewDtls(): Promise<void> {
    await this.dtlsTransport?.connect(true).catch(() => undefined);
  }

  async update(opts: { lifetime?: number; withLinks?: boolean } = {}): Promise<void> {
    if (!this.registrationPath) return this.register();
    this.asleep = false; // the radio comes on to send, so the answer is heard
    const query = opts.lifetime !== undefined ? [`lt=${opts.lifetime}`] : [];
    const links = opts.withLinks ? serializeLinks(this.links()) : undefined;
    const res = await this.coap.request(this.server, {
      method: Method.POST, path: this.registrationPath, query,
      ...(links !== undefined ? { contentFormat: ContentFormat.LINK, payload: Buffer.from(links) } : {}),
    }).catch(async (e: unknown) => {
      if (e instanceof CoapRequestError && e.code === 'TIMEOUT') await this.renewDtls();
      throw e;
    });
    if (links !== undefined && res.code === Code.CHANGED) this.linksSent = links;
    if (res.code === Code.NOT_FOUND) {
      this.registrationPath = undefined;
      return this.register();
    }
    if (res.code !== Code.CHANGED) throw new Error(`${this.opts.endpoint}: update answered ${codeText(res.code)}`);
    this.stats.updates++;
    this.afterContact();
    this.scheduleUpdate();
  }

  async deregister(): Promise<void> {
    if (!this.registrationPath) return;
    const path = this.registrationPath;
    this.registrationPath = undefined;
    this.clearTimers();
    await this.coap.request(this.server, { method: Method.DELETE, path });
  }

  /** Reboot: a new socket (new source port), every observation forgotten, register again. */
  async reboot(): Promise<void> {
    this.stats.reboots++;
    this.clearTimers();
    this.dropObservers();
    this.registrationPath = undefined;
    this.asleep = false;
    await this.endpointRef?.close();
    this.powerOff();
    if (this.stopped) return;
    // boot: what is in flash comes back; the bootloader installs a firmware image marked for update
    this.ml?.boot();
    this.softwareRef?.boot();
    this.firmware.boot();
    await this.open();
    await this.registerAfterBoot();
  }

  /**
   * After a reboot the device must come back: besides the retries of one sequence, a server that
   * answers 5.03 (overloaded, its store away) or does not answer is tried again in further
   * sequences (LwM2M 1.1 Core §6.2.1.1 and Server object resources 17-20: Communication Retry
   * Count / Timer, Sequence Delay Timer; shortened for simulation) for up to `forMs`. Any other
   * answer (4.xx) is the server's word and ends it.
   */
  private async registerAfterBoot(forMs = 90_000, sequenceDelayMs = 2000): Promise<void> {
    const until = Date.now() + forMs;
    for (;;) {
      try {
        await this.registerWithRetry();
        return;
      } catch (e) {
        const retryable = (e instanceof RegistrationAnswerError && e.code === Code.SERVICE_UNAVAILABLE)
          || (e instanceof CoapRequestError && e.code === 'TIMEOUT');
        if (!retryable || this.stopped || Date.now() + sequenceDelayMs > until) throw e;
        await new Promise((r) => setTimeout(r, sequenceDelayMs));
        if (this.stopped) throw e;
      }
    }
  }

  /**
   * A new socket (new source port: a NAT rebinding, a modem reset) and a new Register, without a
   * reboot: what the device holds and does stays, its observations are forgotten (they belonged to
   * the old registration, LWM2M-NOTES).
   */
  async reconnect(): Promise<void> {
    this.clearTimers();
    this.dropObservers();
    this.registrationPath = undefined;
    await this.endpointRef?.close();
    await this.open();
    await this.registerWithRetry();
  }

  /** Stops without de-registering (the server will see the lifetime expire). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    this.dropObservers();
    this.powerOff();
    await this.endpointRef?.close();
  }

  /**
   * The endpoint reassembles Block1 transfers before the handler sees them; a device writing a
   * package to flash block by block is Downloading from the first block on. Every block of a
   * Package write (/9/x/2, /5/0/0) tells the update object that a push is under way.
   */
  private watchPackagePush(data: Buffer): void {
    if (data.length < 4 || (data[1] !== Method.PUT && data[1] !== Method.POST)) return; // cheap test before parsing
    let msg;
    try {
      msg = parseMessage(data);
    } catch {
      return; // the endpoint answers malformed messages itself
    }
    const b1 = getOption(msg, Option.BLOCK1);
    if (!b1) return;
    let path: LwM2mPath;
    try {
      path = this.lwm2mPath(uriPath(msg));
    } catch {
      return;
    }
    const more = (b1[b1.length - 1]! & 0x08) !== 0; // RFC 7959 §2.2: the M bit
    if (path.length === 3 && path[0] === 9 && path[2] === 2) this.softwareRef?.pushProgress(path[1]!, more);
    if (path.length === 3 && path[0] === 5 && path[1] === 0 && path[2] === 0) this.firmware.pushProgress(more);
  }

  /** What a power cut takes: transfers in progress (their sockets close). */
  private powerOff(): void {
    this.softwareRef?.powerOff();
    this.firmware.powerOff();
  }

  /** Sleep now (queue mode), waking at the next update. */
  sleep(): void {
    this.asleep = true;
  }

  wake(): void {
    this.asleep = false;
  }

  private scheduleUpdate(): void {
    if (this.updateTimer) clearTimeout(this.updateTimer);
    if (this.opts.autoUpdate === false) return;
    const lt = (this.store.get([1, 0, 1]) as number | undefined) ?? this.opts.lifetime ?? 300;
    this.updateTimer = setTimeout(() => {
      this.asleep = false;
      this.update().catch((e: unknown) => this.opts.log.warn({ endpoint: this.opts.endpoint, err: (e as Error).message }, 'update failed'));
    }, lt * 900);
    this.updateTimer.unref();
  }

  /**
   * Core §6.2.2: when Object Instances are created or deleted (a model installed by Software
   * Management, removed by Uninstall), the client sends an Update carrying its new object links.
   * During a reboot nothing is sent: the Register that follows carries them.
   */
  private scheduleLinksUpdate(): void {
    if (this.linksTimer || !this.registered) return;
    this.linksTimer = setTimeout(() => {
      this.linksTimer = undefined;
      if (!this.registered || this.stopped || serializeLinks(this.links()) === this.linksSent) return;
      this.update({ withLinks: true }).catch((e: unknown) => this.opts.log.warn({ endpoint: this.opts.endpoint, err: (e as Error).message }, 'update with new object links failed'));
    }, 0);
    this.linksTimer.unref();
  }

  private afterContact(): void {
    if (!this.opts.queueMode) return;
    this.asleep = false;
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.sleepTimer = setTimeout(() => {
      this.asleep = true;
    }, this.opts.awakeTimeMs ?? 93_000);
    this.sleepTimer.unref();
  }

  private clearTimers(): void {
    if (this.updateTimer) clearTimeout(this.updateTimer);
    if (this.linksTimer) clearTimeout(this.linksTimer);
    this.linksTimer = undefined;
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.updateTimer = undefined;
    this.sleepTimer = undefined;
  }

  // ------------------------------------------------------------ information reporting

  /** Send (Core §6.4.4): POST /dp with the current values of `paths`. */
  async send(paths: LwM2mPath[], format: ContentFormat = ContentFormat.SENML_CBOR): Promise<number> {
    this.asleep = false;
    const now = Math.floor(Date.now() / 1000);
    const records: LwM2mRecord[] = paths.flatMap((p) => nodeToRecords(this.store.read(p), p)).map((r) => (format === ContentFormat.LWM2M_CBOR ? r : { ...r, time: now })); // LwM2M CBOR has no timestamps (Core 1.2 §7.4.6)
    const res = await this.coap.request(this.server, { method: Method.POST, path: ['dp'], contentFormat: format, payload: Buffer.from(encodeRecords(records, format)) });
    this.afterContact();
    return res.code;
  }

  private dropObservers(): void {
    for (const o of this.observers.values()) {
      if (o.pending) clearTimeout(o.pending);
      if (o.pmaxTimer) clearTimeout(o.pmaxTimer);
    }
    this.observers.clear();
  }

  private effectiveAttributes(path: LwM2mPath): Attributes {
    // Core §5.1.2: attributes on a resource override the instance's, which override the object's
    const out: Attributes = {};
    for (let len = 1; len <= path.length; len++) Object.assign(out, this.attributes.get(formatPath(path.slice(0, len))) ?? {});
    return out;
  }

  private valueChanged(changed: LwM2mPath): void {
    for (const o of this.observers.values()) {
      if (!isPrefixOf(o.path, changed) && !isPrefixOf(changed, o.path)) continue;
      const a = this.effectiveAttributes(o.path);
      if (o.path.length >= 3 && (a.gt !== undefined || a.lt !== undefined || a.st !== undefined)) {
        const v = this.store.get(o.path);
        if (typeof v === 'number') {
          const prev = o.lastValue;
          const crossed = (t: number | undefined): boolean => t !== undefined && prev !== undefined && (prev - t) * (v - t) < 0;
          const stepped = a.st !== undefined && prev !== undefined && Math.abs(v - prev) >= a.st;
          if (!crossed(a.gt) && !crossed(a.lt) && !stepped && prev !== undefined) continue;
        }
      }
      this.scheduleNotify(o, a);
    }
  }

  private scheduleNotify(o: Observer, a: Attributes): void {
    if (o.pending) return;
    const wait = Math.max(0, (a.pmin ?? 0) * 1000 - (Date.now() - o.lastSent));
    o.pending = setTimeout(() => {
      o.pending = undefined;
      void this.notify(o);
    }, wait);
    o.pending.unref();
  }

  private armPmax(o: Observer): void {
    if (o.pmaxTimer) clearTimeout(o.pmaxTimer);
    const a = this.effectiveAttributes(o.path);
    if (a.pmax === undefined || a.pmax <= 0) return;
    o.pmaxTimer = setTimeout(() => void this.notify(o), a.pmax * 1000);
    o.pmaxTimer.unref();
  }

  private async notify(o: Observer): Promise<void> {
    if (this.stopped || !this.endpointRef) return;
    let res: OutboundResponse;
    try {
      const node = this.store.read(o.path);
      res = { code: Code.CONTENT, contentFormat: o.format, payload: Buffer.from(encodeNode(node, o.path, o.format, this.opts.models)) };
    } catch (e) {
      res = e instanceof DeviceError ? { code: e.coapCode } : { code: Code.INTERNAL_SERVER_ERROR };
    }
    const v = o.path.length >= 3 ? this.store.get(o.path) : undefined;
    if (typeof v === 'number') o.lastValue = v;
    o.lastSent = Date.now();
    o.seq = ++this.seq;
    this.stats.notificationsSent++;
    this.armPmax(o);
    const wanted = await this.coap.notify(o.peer, o.token, o.uriPath, res, o.seq, this.opts.confirmableNotifications ?? true);
    if (!wanted || res.code !== Code.CONTENT) this.cancelObserver(o);
  }

  private cancelObserver(o: Observer): void {
    if (o.pending) clearTimeout(o.pending);
    if (o.pmaxTimer) clearTimeout(o.pmaxTimer);
    this.observers.delete(o.token.toString('hex'));
  }

  get observerCount(): number {
    return this.observers.size;
  }

  // ------------------------------------------------------------ device management

  private lwm2mPath(uri: readonly string[]): LwM2mPath {
    const root = (this.opts.rootPath ?? '').split('/').filter((s) => s !== '');
    const segs = uri.slice(0, root.length).join('/') === root.join('/') ? uri.slice(root.length) : undefined;
    if (!segs || segs.length > 4 || segs.some((s) => !/^\d+$/.test(s))) throw new DeviceError(Code.NOT_FOUND, `no resource /${uri.join('/')}`);
    return segs.map(Number);
  }

  private responseFormat(req: InboundRequest, path: LwM2mPath): ContentFormat {
    if (req.accept !== undefined) {
      if (!isContentFormat(req.accept) || !supportsLevel(req.accept, path, this.opts.models)) throw new DeviceError(Code.NOT_ACCEPTABLE, `cannot answer ${formatPath(path)} in format ${req.accept}`);
      const declared = this.opts.contentFormats;
      const always: number[] = [ContentFormat.TEXT, ContentFormat.OPAQUE, ContentFormat.LINK];
      if (declared && declared.length > 0 && !declared.includes(req.accept) && !always.includes(req.accept)) throw new DeviceError(Code.NOT_ACCEPTABLE, `format ${req.accept} not supported`);
      return req.accept;
    }
    const d = this.opts.defaultFormat ?? ContentFormat.TLV;
    if (d === 'error') throw new DeviceError(Code.INTERNAL_SERVER_ERROR, 'no Accept option'); // as the Wakaama default build does
    return supportsLevel(d, path, this.opts.models) ? d : ContentFormat.TLV;
  }

  private async handle(req: InboundRequest): Promise<OutboundResponse> {
    if (this.bootstrapping) return this.bootstrapping(req);
    this.stats.requestsServed++;
    this.afterContact();
    try {
      return await this.dispatch(req);
    } catch (e) {
      if (e instanceof DeviceError) return { code: e.coapCode, payload: Buffer.from(e.message) };
      if (e instanceof CodecError) return { code: Code.BAD_REQUEST, payload: Buffer.from(e.message) };
      this.opts.log.error({ err: e, endpoint: this.opts.endpoint }, 'simulated client failed');
      return { code: Code.INTERNAL_SERVER_ERROR };
    }
  }

  private decodeBody(req: InboundRequest, path: LwM2mPath) {
    if (req.payload.length === 0 && req.contentFormat === undefined && path.length >= 3) {
      // an empty value (the "cancel" write of a Package or Package URI) may come without Content-Format:
      // RFC 7252 §5.10.3 describes the payload, and there is none
      const opaque = this.opts.models.resource(path[0]!, path[2]!)?.type === 'opaque';
      return decodeNode(req.payload, opaque ? ContentFormat.OPAQUE : ContentFormat.TEXT, path, this.opts.models);
    }
    if (req.contentFormat === undefined || !isContentFormat(req.contentFormat)) throw new DeviceError(Code.UNSUPPORTED_CONTENT_FORMAT, `content format ${req.contentFormat ?? 'missing'}`);
    const declared = this.opts.contentFormats;
    const always: number[] = [ContentFormat.TEXT, ContentFormat.OPAQUE];
    if (declared && declared.length > 0 && !declared.includes(req.contentFormat) && !always.includes(req.contentFormat)) throw new DeviceError(Code.UNSUPPORTED_CONTENT_FORMAT, `format ${req.contentFormat} not supported`);
    this.lastReceivedFormat = req.contentFormat;
    return decodeNode(req.payload, req.contentFormat, path, this.opts.models);
  }

  private async dispatch(req: InboundRequest): Promise<OutboundResponse> {
    if (req.method === Method.FETCH) return this.compositeRead(req);
    const path = this.lwm2mPath(req.path);
    switch (req.method) {
      case Method.GET: {
        if (req.accept === ContentFormat.LINK) return this.discover(path);
        if (req.observe === 1) {
          const o = this.observers.get(req.token.toString('hex'));
          if (o) this.cancelObserver(o);
        }
        const format = this.responseFormat(req, path);
        const node = this.store.read(path);
        const payload = Buffer.from(encodeNode(node, path, format, this.opts.models));
        if (req.observe === 0) {
          const o: Observer = { peer: req.peer, token: req.token, path, uriPath: [...req.path], format, seq: this.seq, lastSent: Date.now() };
          const v = path.length >= 3 ? this.store.get(path) : undefined;
          if (typeof v === 'number') o.lastValue = v;
          this.observers.set(req.token.toString('hex'), o);
          this.armPmax(o);
          return { code: Code.CONTENT, contentFormat: format, payload, options: [{ number: Option.OBSERVE, value: Buffer.from([this.seq & 0xff]) }] };
        }
        return { code: Code.CONTENT, contentFormat: format, payload };
      }
      case Method.PUT: {
        if (req.payload.length === 0 && req.query.length > 0) return this.writeAttributes(path, req.query);
        if (path.length < 2) throw new DeviceError(Code.METHOD_NOT_ALLOWED, 'write needs an instance or resource');
        this.store.write(path, this.decodeBody(req, path), true);
        return { code: Code.CHANGED };
      }
      case Method.POST: {
        if (path.length === 3) {
          await this.store.execute(path, req.payload.toString('utf8'));
          return { code: Code.CHANGED };
        }
        if (path.length === 2) {
          this.store.write(path, this.decodeBody(req, path), false);
          return { code: Code.CHANGED };
        }
        if (path.length === 1) {
          const node = this.decodeBody(req, path);
          const created = node.kind === 'object' ? node.instances.map((i) => this.store.create(path[0]!, i)) : [this.store.create(path[0]!, node)];
          return { code: Code.CREATED, options: [{ number: Option.LOCATION_PATH, value: Buffer.from(String(path[0])) }, { number: Option.LOCATION_PATH, value: Buffer.from(String(created[0])) }] };
        }
        throw new DeviceError(Code.METHOD_NOT_ALLOWED, 'POST on this path');
      }
      case Method.DELETE:
        this.store.delete(path);
        return { code: Code.DELETED };
      default:
        throw new DeviceError(Code.METHOD_NOT_ALLOWED, `method ${req.method}`);
    }
  }

  private writeAttributes(path: LwM2mPath, query: readonly string[]): OutboundResponse {
    const key = formatPath(path);
    const attrs: Attributes = { ...(this.attributes.get(key) ?? {}) };
    for (const q of query) {
      const [name, value] = q.split('=');
      if (!ATTR_NAMES.includes(name as (typeof ATTR_NAMES)[number])) throw new DeviceError(Code.BAD_REQUEST, `unknown attribute ${name}`);
      if (name === 'epmin' || name === 'epmax') continue;
      const k = name as keyof Attributes;
      if (value === undefined || value === '') delete attrs[k];
      else {
        const n = Number(value);
        if (!Number.isFinite(n)) throw new DeviceError(Code.BAD_REQUEST, `${name}=${value} is not a number`);
        attrs[k] = n;
      }
    }
    this.attributes.set(key, attrs);
    for (const o of this.observers.values()) if (isPrefixOf(path, o.path) || isPrefixOf(o.path, path)) this.armPmax(o);
    return { code: Code.CHANGED };
  }

  private discover(path: LwM2mPath): OutboundResponse {
    // Core §5.4.2 Discover: the node and its children with their attributes
    const node = this.store.read(path.slice(0, Math.min(path.length, 2)) as LwM2mPath);
    const links: Link[] = [];
    const attrs = (p: LwM2mPath): Record<string, string | true> => Object.fromEntries(Object.entries(this.attributes.get(formatPath(p)) ?? {}).map(([k, v]) => [k, String(v)]));
    links.push({ uri: formatPath(path), attributes: attrs(path) });
    const addResources = (o: number, i: number, resources: readonly { id: number; kind: string; values?: Record<number, unknown> }[]): void => {
      for (const r of resources) {
        const p = [o, i, r.id];
        if (path.length === 3 && r.id !== path[2]) continue;
        const a = attrs(p);
        if (r.kind === 'multiResource' && r.values) a.dim = String(Object.keys(r.values).length);
        if (path.length < 3) links.push({ uri: formatPath(p), attributes: a });
        else links[0] = { uri: formatPath(p), attributes: a };
      }
    };
    if (node.kind === 'object') for (const inst of node.instances) links.push({ uri: formatPath([node.id, inst.id]), attributes: attrs([node.id, inst.id]) });
    if (node.kind === 'instance') addResources(path[0]!, node.id, node.resources);
    return { code: Code.CONTENT, contentFormat: ContentFormat.LINK, payload: Buffer.from(serializeLinks(links)) };
  }

  private compositeRead(req: InboundRequest): OutboundResponse {
    // Transport §6.4.x Read-Composite: FETCH with a SenML path list, answered as SenML records
    if (req.contentFormat !== ContentFormat.SENML_JSON && req.contentFormat !== ContentFormat.SENML_CBOR) throw new DeviceError(Code.UNSUPPORTED_CONTENT_FORMAT, 'composite read takes SenML');
    const format = (req.accept ?? req.contentFormat) as ContentFormat;
    if (format !== ContentFormat.SENML_JSON && format !== ContentFormat.SENML_CBOR && format !== ContentFormat.LWM2M_CBOR) throw new DeviceError(Code.NOT_ACCEPTABLE, 'composite read answers SenML or LwM2M CBOR');
    const paths = decodePaths(req.payload, req.contentFormat);
    const records: LwM2mRecord[] = [];
    for (const p of paths) {
      try {
        records.push(...nodeToRecords(this.store.read(p), p));
      } catch (e) {
        if (!(e instanceof DeviceError)) throw e; // Core: absent paths are left out of the answer
      }
    }
    return { code: Code.CONTENT, contentFormat: format, payload: Buffer.from(encodeRecords(records, format)) };
  }
}
