// The LwM2M Bootstrap-Server (LwM2M 1.1 TS Core §5.2, Transport §6.1): its own CoAP endpoint and
// port, answering client-initiated Bootstrap-Request (POST /bs?ep=<name>[&pct=<format>]) with 2.04,
// then running the session that provisions the device's LwM2M server account. Over coaps:// the
// factory bootstrap credentials (`bootstrapSecurity`) answer the DTLS handshakes (Transport §5.1:
// the Bootstrap-Server account is secured like any other; its key is not the LwM2M server's).
import type { Logger } from 'pino';
import { CoapEndpoint, type InboundRequest, type OutboundResponse } from '../coap/endpoint.ts';
import { Code, Method } from '../coap/message.ts';
import type { CoapTiming } from '../coap/timing.ts';
import { CombinedTransport } from '../coap/combined-transport.ts';
import { UdpTransport, type DatagramTransport, type Peer } from '../coap/transport.ts';
import { DtlsServer, type DtlsLimits } from '../dtls/server.ts';
import { ContentFormat } from '../lwm2m/content-format.ts';
import type { ModelLookup } from '../lwm2m/object-model.ts';
import { describeIdentity } from '../registration/sender-authorization.ts';
import { dtlsCredentialsFromStore } from '../security/dtls-credentials.ts';
import { MemorySecurityStore } from '../security/memory-security-store.ts';
import { judge } from '../security/registration-authorizer.ts';
import type { SecurityStore } from '../security/security-store.ts';
import type { Collection } from '../store/collection.ts';
import type { BootstrapConfig } from './bootstrap-config.ts';
import { runBootstrapSession, type AccountCredentials, type BootstrapSessionResult } from './bootstrap-session.ts';

export type BootstrapServerOptions = {
  log: Logger;
  models: ModelLookup;
  configs: Collection<BootstrapConfig>;
  /** the LwM2M server's security store: the PSK provisioned to a device is read from here */
  security: SecurityStore;
  /**
   * who may bootstrap over DTLS (the factory bootstrap credentials, per endpoint); plain CoAP
   * Bootstrap-Requests are judged against it as registrations are against `security`
   */
  bootstrapSecurity?: SecurityStore;
  transport?: DatagramTransport;
  host?: string;
  /** plain CoAP port (default 5683) */
  port?: number;
  /** false: no plain CoAP listener (then `dtls` must be given) */
  plain?: boolean;
  /** CoAP over DTLS 1.2 on this port, the handshakes answered from `bootstrapSecurity` */
  dtls?: { port?: number; limits?: Partial<DtlsLimits> };
  timing?: Partial<CoapTiming>;
  requestTimeoutMs?: number;
  /** sessions running at once; further Bootstrap-Requests get 5.03 (the client retries) */
  maxSessions?: number;
  onSession?: (result: BootstrapSessionResult) => void;
};

/** Formats a whole Object 0/1 instance can be written in; a `pct` outside these falls back to TLV. */
const INSTANCE_FORMATS: readonly number[] = [ContentFormat.TLV, ContentFormat.SENML_CBOR, ContentFormat.SENML_JSON, ContentFormat.LWM2M_CBOR];
const MAX_RESULTS = 10_000;

export class BootstrapServer {
  private readonly running = new Map<string, Promise<BootstrapSessionResult>>();
  private readonly results = new Map<string, BootstrapSessionResult>();
  /** who may bootstrap: the factory bootstrap credentials per endpoint */
  readonly bootstrapSecurity: SecurityStore;

  private constructor(private readonly opts: BootstrapServerOptions, readonly coap: CoapEndpoint, bootstrapSecurity: SecurityStore, readonly dtls: DtlsServer | undefined) {
    this.bootstrapSecurity = bootstrapSecurity;
  }

  static async start(opts: BootstrapServerOptions): Promise<BootstrapServer> {
    const bootstrapSecurity = opts.bootstrapSecurity ?? MemorySecurityStore.memory();
    const host = opts.host ?? '0.0.0.0';
    const dtls = opts.transport || !opts.dtls ? undefined : await DtlsServer.open({
      host, port: opts.dtls.port ?? 5784, credentials: dtlsCredentialsFromStore(bootstrapSecurity), limits: opts.dtls.limits,
      log: opts.log.child({ component: 'bootstrap-dtls' }),
    });
    let transport: DatagramTransport;
    if (opts.transport) transport = opts.transport;
    else if (opts.plain === false) {
      if (!dtls) throw new Error('a Bootstrap-Server without plain CoAP needs DTLS');
      transport = dtls;
    } else {
      const udp = await UdpTransport.open({ host, port: opts.port ?? 5683 });
      transport = dtls ? new CombinedTransport(udp, dtls) : udp;
    }
    const coap = new CoapEndpoint({ transport, log: opts.log.child({ component: 'bootstrap-coap' }), timing: opts.timing });
    const server = new BootstrapServer(opts, coap, bootstrapSecurity, dtls);
    coap.onRequest((req) => server.handle(req));
    return server;
  }

  /** The plain CoAP address (the DTLS one when plain CoAP is off). */
  get address(): Peer {
    return this.coap.address;
  }

  /** The coaps:// listener's address, when DTLS runs. */
  get coapsAddress(): Peer | undefined {
    return this.dtls?.address();
  }

  get configs(): Collection<BootstrapConfig> {
    return this.opts.configs;
  }

  /** The outcome of the last session of an endpoint (this node's memory). */
  lastSession(endpoint: string): BootstrapSessionResult | undefined {
    return this.results.get(endpoint);
  }

  /** Resolves when the session under way for this endpoint ends (tests, the API). */
  session(endpoint: string): Promise<BootstrapSessionResult> | undefined {
    return this.running.get(endpoint);
  }

  async stop(): Promise<void> {
    await this.coap.close();
  }

  private async handle(req: InboundRequest): Promise<OutboundResponse> {
    if (req.path.length !== 1 || req.path[0] !== 'bs') return { code: Code.NOT_FOUND, payload: Buffer.from('the bootstrap interface is POST /bs?ep=<name>') };
    if (req.method !== Method.POST) return { code: Code.METHOD_NOT_ALLOWED, payload: Buffer.from('Bootstrap-Request is POST /bs') };
    const query = new Map<string, string>();
    for (const q of req.query) {
      const eq = q.indexOf('=');
      query.set(eq < 0 ? q : q.slice(0, eq), eq < 0 ? '' : q.slice(eq + 1));
    }
    const endpoint = query.get('ep');
    if (!endpoint || Buffer.byteLength(endpoint) > 255) return { code: Code.BAD_REQUEST, payload: Buffer.from('Bootstrap-Request needs ep=<endpoint name> (1..255 bytes)') };
    const pct = query.has('pct') ? Number(query.get('pct')) : undefined;
    if (pct !== undefined && !Number.isInteger(pct)) return { code: Code.BAD_REQUEST, payload: Buffer.from('pct must be a content format number') };
    const log = this.opts.log;
    try {
      const verdict = judge(endpoint, req.peer, await this.bootstrapSecurity.get(endpoint));
      if (!verdict.ok) {
        log.warn({ endpoint, identity: describeIdentity(req.peer), reason: verdict.reason }, 'bootstrap refused');
        return { code: Code.FORBIDDEN, payload: Buffer.from('not authorized') };
      }
      const config = await this.opts.configs.get(endpoint);
      // Bootstrap-Request answers 4.00 Bad Request to an endpoint name the server does not know (Transport §6.1)
      if (!config) {
        log.info({ endpoint }, 'bootstrap request for an endpoint without configuration');
        return { code: Code.BAD_REQUEST, payload: Buffer.from('no bootstrap configuration for this endpoint') };
      }
      const credentials = await this.credentials(endpoint, config);
      if (!credentials) {
        log.error({ endpoint }, 'bootstrap configuration asks for PSK credentials but the security store has none for this endpoint');
        return { code: Code.BAD_REQUEST, payload: Buffer.from('bootstrap configuration incomplete') };
      }
      if (this.running.has(endpoint)) return { code: Code.CHANGED }; // a retransmitted or repeated request: the session under way goes on
      if (this.running.size >= (this.opts.maxSessions ?? 256)) return { code: Code.SERVICE_UNAVAILABLE, payload: Buffer.from('too many bootstrap sessions, retry later') };
      const format = pct !== undefined && INSTANCE_FORMATS.includes(pct) ? (pct as ContentFormat) : ContentFormat.TLV;
      const ctx = { coap: this.coap, models: this.opts.models, peer: req.peer, format, v11: pct !== undefined, timeoutMs: this.opts.requestTimeoutMs ?? 10_000 };
      // the 2.04 goes out first; the session's requests follow it (a strict client drops a request
      // that arrives before the answer to its own)
      const session = new Promise<void>((r) => setImmediate(r)).then(() => runBootstrapSession(ctx, endpoint, config, credentials));
      this.running.set(endpoint, session);
      log.info({ endpoint, identity: describeIdentity(req.peer), format }, 'bootstrap started');
      void session.then((result) => {
        this.running.delete(endpoint);
        if (this.results.size >= MAX_RESULTS) this.results.delete(this.results.keys().next().value!);
        this.results.set(endpoint, result);
        if (result.ok) log.info({ endpoint, steps: result.steps.length }, 'bootstrap finished');
        else log.warn({ endpoint, err: result.error }, 'bootstrap failed');
        this.opts.onSession?.(result);
      });
      return { code: Code.CHANGED };
    } catch (e) {
      log.warn({ endpoint, err: (e as Error).message }, 'bootstrap request failed');
      return { code: Code.SERVICE_UNAVAILABLE, payload: Buffer.from('bootstrap store unavailable, retry later') };
    }
  }

  private async credentials(endpoint: string, config: BootstrapConfig): Promise<AccountCredentials | undefined> {
    if (config.credentials === 'nosec') return { mode: 'nosec' };
    const info = await this.opts.security.get(endpoint);
    return info?.mode === 'psk' ? { mode: 'psk', identity: info.identity, key: Buffer.from(info.key, 'hex') } : undefined;
  }
}
