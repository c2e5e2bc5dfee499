// MQTT northbound bridge: every server event is published as JSON (the SSE shape, json/event-json)
// with QoS 1, and optional commands arrive on MQTT and run as DM requests. Topics and payloads are
// documented in docs/mqtt.md.
//   <prefix>/<ep>/register | update | deregister | send | awake | sleeping | request
//   <prefix>/<ep>/notify/<object>/<instance>/<resource>...
//   <otaPrefix>/<deployment>/<ep>                      rollout progress (published by the OTA code)
//   <prefix>/<ep>/cmd/<read|write|execute>             command in, { id, token, path, value?, args?, format? }
//   <prefix>/<ep>/cmd-reply/<id>                       its answer
//   <prefix>/<ep>/cmd-error                            commands without a usable id, and refused ones (token, role)
// With `authorize`, a command carries an API token with the operator role, in the body ("token")
// or, on MQTT 5, as the user property "token" or "authorization: Bearer <token>"; it is never echoed.
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { actorOf, type AuditLog } from '../access/audit-log.ts';
import { roleAllows, type Principal } from '../access/roles.ts';
import type { TokenCheck } from '../access/token-store.ts';
import { errorToJson } from '../json/error-json.ts';
import { eventEndpoint, eventToJson } from '../json/event-json.ts';
import { nodeFromJson } from '../json/node-json.ts';
import { parseJsonExact } from '../lwm2m/exact-json.ts';
import { resultToJson } from '../json/result-json.ts';
import { parseContentFormat, type ContentFormat } from '../lwm2m/content-format.ts';
import type { ModelLookup } from '../lwm2m/object-model.ts';
import { parsePath, type LwM2mPath } from '../lwm2m/path.ts';
import type { DownlinkRequest, DownlinkResult } from '../request/downlink-request.ts';
import type { EventBus, ServerEvent } from '../events/server-event.ts';

/** What a command needs from the server: LwM2mServer.request, passed in (no import of the facade). */
export type CommandRequester = (endpoint: string, req: DownlinkRequest) => Promise<
  { queued: false; result: DownlinkResult } | { queued: true; request: { id: string; status: string } }
>;

export type MqttBridgeOptions = {
  /** mqtt://host:port (mqtts://, ws:// as the mqtt package allows) */
  url: string;
  events: EventBus;
  log: Logger;
  /** topic prefix for device events and commands; default "lwm2m" */
  prefix?: string;
  /** topic prefix for rollout progress; default "ota" (apart from <prefix>, so no endpoint name can collide) */
  otaPrefix?: string;
  /** enables <prefix>/+/cmd/+ when given */
  commands?: {
    request: CommandRequester; models: ModelLookup; maxInFlight?: number;
    /** checks a command's token (TokenStore.verify); without it commands need no token */
    authorize?: (token: string) => Promise<TokenCheck>;
    /** records every command that presented a valid token (accepted or refused for its role) */
    audit?: AuditLog;
  };
  clientId?: string;
  /** publishes kept while the broker is away; past it new events are dropped and counted */
  maxOffline?: number;
  /** extra mqtt.js options (credentials, TLS) */
  client?: IClientOptions;
};

const EVENT_TOPIC: Record<Exclude<ServerEvent['type'], 'notification' | 'deployment' | 'overload' | 'model-health'>, string> = {
  registration: 'register',
  update: 'update',
  deregistration: 'deregister',
  send: 'send',
  awake: 'awake',
  sleeping: 'sleeping',
  request: 'request',
};

const OPS = ['read', 'write', 'execute'] as const;
type Op = (typeof OPS)[number];
const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
const MAX_COMMAND_BYTES = 64 * 1024;

/**
 * MQTT topic levels cannot hold '/' (a level separator) and publish topics must not hold the
 * wildcards '+' and '#' (MQTT 3.1.1 §4.7.1): such characters in endpoint names (and '%' itself)
 * are percent-encoded, so every endpoint maps to exactly one topic level.
 */
export function topicLevel(name: string): string {
  return name.replace(/[%/+#\u0000]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function decodeTopicLevel(level: string): string {
  return level.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

export type BridgeStats = { published: number; dropped: number; commands: number; commandErrors: number };

class CommandError extends Error {
  /** `principal`: who sent a command refused for its role (so the refusal is audited) */
  constructor(readonly error: string, message: string, readonly principal?: Principal) {
    super(message);
  }
}

export class MqttBridge {
  readonly stats: BridgeStats = { published: 0, dropped: 0, commands: 0, commandErrors: 0 };
  readonly prefix: string;
  readonly otaPrefix: string;
  private readonly client: MqttClient;
  private readonly off: () => void;
  private offline = 0;
  private inFlight = 0;
  private lastError: string | undefined;

  constructor(private readonly opts: MqttBridgeOptions) {
    this.prefix = (opts.prefix ?? 'lwm2m').replace(/\/+$/, '');
    this.otaPrefix = (opts.otaPrefix ?? 'ota').replace(/\/+$/, '');
    if (/[+#]/.test(this.prefix) || /[+#]/.test(this.otaPrefix)) throw new Error('MQTT topic prefixes must not contain wildcards (+, #)');
    const log = opts.log;
    this.client = connect(opts.url, {
      clientId: opts.clientId ?? `tinymlaas-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      reconnectPeriod: 1000,
      connectTimeout: 5000,
      queueQoSZero: false,
      // MQTT 5, so a command's token may come as a user property (§3.3.2.3.7); `client` may say 4
      protocolVersion: 5,
      ...opts.client,
    });
    this.client.on('connect', () => {
      if (this.lastError !== undefined) log.info({ url: opts.url }, 'mqtt reconnected');
      this.lastError = undefined;
    });
    this.client.on('error', (e: Error) => {
      if (e.message !== this.lastError) log.warn({ err: e.message, url: opts.url }, 'mqtt bridge error');
      this.lastError = e.message;
    });
    this.client.on('offline', () => {
      if (this.lastError === undefined) log.warn({ url: opts.url }, 'mqtt broker unreachable, reconnecting');
      this.lastError ??= 'offline';
    });
    if (opts.commands) {
      this.client.subscribe(`${this.prefix}/+/cmd/+`, { qos: 1 }, (err) => {
        if (err) log.error({ err: err.message }, 'mqtt command subscription failed');
      });
      this.client.on('message', (topic, payload, packet) => {
        this.onCommand(topic, payload, packet).catch((e: unknown) => log.error({ err: (e as Error).message, topic }, 'mqtt command handling failed'));
      });
    }
    this.off = opts.events.on((e) => this.onEvent(e));
  }

  /** Resolves once connected to the broker (and subscribed, with commands), or rejects after timeoutMs. */
  async ready(timeoutMs = 5000): Promise<void> {
    if (this.client.connected) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        this.client.off('connect', ok);
        reject(new Error(`mqtt broker ${this.opts.url} not reachable within ${timeoutMs} ms${this.lastError ? `: ${this.lastError}` : ''}`));
      }, timeoutMs);
      const ok = (): void => {
        clearTimeout(t);
        resolve();
      };
      this.client.once('connect', ok);
    });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  topicFor(e: ServerEvent): string {
    if (e.type === 'deployment') {
      // rollout progress: ota/<deployment>/<ep> per device, ota/<deployment> for the whole rollout
      return e.endpoint === undefined ? `${this.otaPrefix}/${topicLevel(e.deploymentId)}` : `${this.otaPrefix}/${topicLevel(e.deploymentId)}/${topicLevel(e.endpoint)}`;
    }
    // no endpoint level can read "%server": topicLevel writes '%' only before two hex digits
    if (e.type === 'overload') return `${this.prefix}/%server/overload`;
    if (e.type === 'model-health') return `${this.prefix}/%server/model-health`;
    const ep = topicLevel(eventEndpoint(e) ?? '');
    if (e.type === 'notification') return `${this.prefix}/${ep}/notify${e.path.startsWith('/') ? e.path : `/${e.path}`}`;
    return `${this.prefix}/${ep}/${EVENT_TOPIC[e.type]}`;
  }

  /** Rollout progress of one device in one deployment, on <otaPrefix>/<deployment>/<ep>. */
  publishRollout(deployment: string, endpoint: string, progress: Record<string, unknown>): void {
    this.publish(`${this.otaPrefix}/${topicLevel(deployment)}/${topicLevel(endpoint)}`, { deployment, endpoint, ...progress });
  }

  /** Stops publishing; waits (at most timeoutMs) for the broker to acknowledge what is in flight. */
  async close(timeoutMs = 2000): Promise<void> {
    this.off();
    if (!this.client.connected) {
      await this.client.endAsync(true);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const graceful = this.client.endAsync(false);
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    if ((await Promise.race([graceful, timedOut])) === 'timeout') await this.client.endAsync(true);
    clearTimeout(timer);
  }

  private onEvent(e: ServerEvent): void {
    this.publish(this.topicFor(e), eventToJson(e));
  }

  private publish(topic: string, body: unknown): void {
    const max = this.opts.maxOffline ?? 10_000;
    if (!this.client.connected) {
      // mqtt.js keeps QoS 1 publishes for the reconnect; bound that memory
      if (this.offline >= max) {
        this.stats.dropped++;
        return;
      }
      this.offline++;
    }
    const wasOffline = !this.client.connected;
    this.client.publish(topic, JSON.stringify(body), { qos: 1 }, (err) => {
      if (wasOffline) this.offline--;
      if (err) {
        this.stats.dropped++;
        this.opts.log.debug({ err: err.message, topic }, 'mqtt publish failed');
      } else this.stats.published++;
    });
  }

  private async onCommand(topic: string, payload: Buffer, packet?: IPublishPacket): Promise<void> {
    const rest = topic.slice(this.prefix.length + 1).split('/');
    if (!topic.startsWith(`${this.prefix}/`) || rest.length !== 3 || rest[1] !== 'cmd') return;
    const epLevel = rest[0]!;
    const endpoint = decodeTopicLevel(epLevel);
    const op = rest[2]!;
    const commands = this.opts.commands!;
    this.stats.commands++;
    let id: string | undefined;
    let principal: Principal | undefined;
    let outcome: { ok: boolean; error?: string } = { ok: false };
    try {
      if (payload.length > MAX_COMMAND_BYTES) throw new CommandError('BAD_COMMAND', `command body larger than ${MAX_COMMAND_BYTES} bytes`);
      let body: unknown;
      try {
        body = parseJsonExact(payload.toString('utf8')); // 64-bit integer values exactly (bigint)
      } catch {
        throw new CommandError('BAD_COMMAND', 'command body is not JSON');
      }
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new CommandError('BAD_COMMAND', 'command body must be a JSON object');
      const b = body as Record<string, unknown>;
      if (typeof b.id === 'string' && ID_PATTERN.test(b.id)) id = b.id;
      if (commands.authorize) principal = await this.authorize(b, packet, commands.authorize);
      if (id === undefined) throw new CommandError('BAD_COMMAND', 'command needs "id": 1-64 characters of A-Z a-z 0-9 _ . : -');
      if (!(OPS as readonly string[]).includes(op)) throw new CommandError('BAD_COMMAND', `unknown command "${op}"; use ${OPS.join(', ')}`);
      const req = this.toRequest(op as Op, b);
      if (this.inFlight >= (commands.maxInFlight ?? 100)) throw new CommandError('BUSY', 'too many commands in flight, retry later');
      this.inFlight++;
      let reply: Record<string, unknown>;
      try {
        const result = await commands.request(endpoint, req);
        reply = result.queued
          ? { id, ok: true, queued: true, requestId: result.request.id, status: result.request.status }
          : { id, ok: true, queued: false, result: resultToJson(result.result) };
      } finally {
        this.inFlight--;
      }
      outcome = { ok: true };
      this.publish(`${this.prefix}/${epLevel}/cmd-reply/${id}`, reply);
    } catch (e) {
      this.stats.commandErrors++;
      if (e instanceof CommandError && e.principal) principal = e.principal;
      const known = e instanceof CommandError ? undefined : errorToJson(e);
      const err = e instanceof CommandError ? { error: e.error, message: e.message } : known ? { error: known.error, message: known.message } : { error: 'INTERNAL', message: 'internal error' };
      outcome = { ok: false, error: err.error };
      this.opts.log.debug({ topic, ...err }, 'mqtt command rejected');
      // refusals for want of a token or a role go to the error topic, whatever id they carry
      const refused = err.error === 'UNAUTHENTICATED' || err.error === 'FORBIDDEN';
      if (id !== undefined && !refused) this.publish(`${this.prefix}/${epLevel}/cmd-reply/${id}`, { id, ok: false, ...err });
      else this.publish(`${this.prefix}/${epLevel}/cmd-error`, { ok: false, topic, ...(id !== undefined ? { id } : {}), ...err });
    }
    if (commands.audit && principal) {
      await commands.audit.record({
        via: 'mqtt', actor: actorOf(principal), source: 'mqtt', action: `mqtt ${op}`, target: { endpoint },
        outcome: { status: outcome.ok ? 200 : outcome.error === 'FORBIDDEN' ? 403 : 400, ok: outcome.ok, ...(outcome.error ? { error: outcome.error } : {}) },
      }).catch((e: unknown) => this.opts.log.error({ err: (e as Error).message }, 'audit record failed'));
    }
  }

  /** The command's token (body "token", or MQTT 5 user property): a principal with the operator role, or a CommandError. */
  private async authorize(b: Record<string, unknown>, packet: IPublishPacket | undefined, verify: (token: string) => Promise<TokenCheck>): Promise<Principal> {
    const props = packet?.properties?.userProperties ?? {};
    const prop = (name: string): string | undefined => {
      const v = props[name];
      return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
    };
    const bearer = /^Bearer[ ]+(\S+)$/i.exec(prop('authorization') ?? '')?.[1];
    const token = typeof b.token === 'string' ? b.token : prop('token') ?? bearer;
    if (token === undefined) throw new CommandError('UNAUTHENTICATED', 'commands need an API token with the operator role: "token" in the body or an MQTT 5 user property');
    const check = await verify(token);
    if (!check.ok) {
      this.opts.log.warn({ reason: check.code }, 'mqtt command token refused');
      throw new CommandError('UNAUTHENTICATED', `the token is ${check.code.toLowerCase()}`);
    }
    const principal: Principal = { kind: 'token', tokenId: check.token.id, name: check.token.name, role: check.token.role };
    if (!roleAllows(principal.role, 'operator')) {
      throw new CommandError('FORBIDDEN', `commands need the operator role; the token "${principal.name}" has ${principal.role}`, principal);
    }
    return principal;
  }

  private toRequest(op: Op, b: Record<string, unknown>): DownlinkRequest {
    if (typeof b.path !== 'string') throw new CommandError('BAD_COMMAND', 'command needs "path", e.g. "/3/0/0"');
    let path: LwM2mPath;
    try {
      path = parsePath(b.path);
    } catch (e) {
      throw new CommandError('BAD_PATH', (e as Error).message);
    }
    let format: ContentFormat | undefined;
    if (b.format !== undefined) {
      format = typeof b.format === 'string' || typeof b.format === 'number' ? parseContentFormat(String(b.format)) : undefined;
      if (format === undefined) throw new CommandError('BAD_FORMAT', `unknown content format "${String(b.format)}"`);
    }
    switch (op) {
      case 'read':
        if (path.length < 1) throw new CommandError('BAD_PATH', 'read needs an object, instance or resource path');
        return { kind: 'read', path, format };
      case 'execute':
        if (path.length !== 3) throw new CommandError('BAD_PATH', 'execute needs a resource path /O/I/R');
        if (b.args !== undefined && typeof b.args !== 'string') throw new CommandError('BAD_COMMAND', '"args" must be a string, e.g. "0=\'v\'"');
        return { kind: 'execute', path, args: b.args };
      case 'write': {
        if (path.length < 2) throw new CommandError('BAD_PATH', 'write needs an instance, resource or resource instance path');
        if (!('value' in b)) throw new CommandError('BAD_COMMAND', 'write needs "value"');
        const mode = b.mode === undefined ? 'replace' : b.mode;
        if (mode !== 'replace' && mode !== 'update') throw new CommandError('BAD_COMMAND', '"mode" is "replace" or "update"');
        const v = b.value;
        const isMap = v !== null && typeof v === 'object' && !Array.isArray(v);
        // the REST body shapes: an instance takes { resources }, a multiple resource { values }
        const restBody = path.length === 2 ? { resources: v } : path.length === 3 && isMap ? { values: v } : { value: v };
        return { kind: 'write', path, node: nodeFromJson(restBody, path, this.opts.commands!.models), mode, format };
      }
    }
  }
}
