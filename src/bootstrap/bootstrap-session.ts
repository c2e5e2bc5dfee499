// One bootstrap session (LwM2M 1.1 TS Core §5.2.7, Transport §6.1), server side, after the
// device's Bootstrap-Request was answered 2.04:
//   Bootstrap-Discover  GET /0 (Accept 40)   which Security instance is the Bootstrap-Server account
//   Bootstrap-Delete    DELETE /0, /1         the client keeps its Bootstrap-Server account (§5.2.7.3)
//   Bootstrap-Write     PUT /1/x, PUT /0/y    the LwM2M server account, in the client's preferred format
//   Bootstrap-Read      GET /1/x (1.1)        check what the client stored
//   Bootstrap-Finish    POST /bs              the client checks its configuration and leaves bootstrap
import type { CoapEndpoint, ClientResponse } from '../coap/endpoint.ts';
import { Code, Method, codeText } from '../coap/message.ts';
import type { Peer } from '../coap/transport.ts';
import { decodeNode, encodeNode } from '../lwm2m/codec.ts';
import { ContentFormat } from '../lwm2m/content-format.ts';
import { parseLinks } from '../lwm2m/link-format.ts';
import type { ObjectInstance, Resource, ResourceValue } from '../lwm2m/node.ts';
import type { ModelLookup } from '../lwm2m/object-model.ts';
import type { BootstrapConfig } from './bootstrap-config.ts';

/** The credentials written into the account's Security instance (keys are never part of a result). */
export type AccountCredentials = { mode: 'psk'; identity: string; key: Buffer } | { mode: 'nosec' };

export type BootstrapStep = { readonly operation: 'discover' | 'delete' | 'write' | 'read' | 'finish'; readonly path: string; readonly code: string };

export type BootstrapSessionResult = {
  readonly endpoint: string;
  readonly ok: boolean;
  readonly steps: readonly BootstrapStep[];
  readonly error?: string;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly securityInstance?: number;
  readonly serverInstance?: number;
};

export type SessionContext = {
  coap: CoapEndpoint;
  models: ModelLookup;
  peer: Peer;
  /** the format of the Bootstrap-Write payloads (the client's `pct`, TLV by default) */
  format: ContentFormat;
  /** the client sent `pct`, so it speaks 1.1: Bootstrap-Discover and Bootstrap-Read exist */
  v11: boolean;
  timeoutMs: number;
};

// Core Appendix E.1 (Security) and E.2 (Server) resource ids
const SECURITY = 0;
const SERVER = 1;
const SECURITY_MODE = { psk: 0, nosec: 3 } as const;

class StepFailed extends Error {}

export async function runBootstrapSession(ctx: SessionContext, endpoint: string, config: BootstrapConfig, credentials: AccountCredentials): Promise<BootstrapSessionResult> {
  const startedAt = Date.now();
  const steps: BootstrapStep[] = [];
  const call = async (operation: BootstrapStep['operation'], path: string[], req: Parameters<CoapEndpoint['request']>[1], accept: number[]): Promise<ClientResponse> => {
    const res = await ctx.coap.request(ctx.peer, { ...req, path, timeoutMs: ctx.timeoutMs });
    steps.push({ operation, path: `/${path.join('/')}`, code: codeText(res.code) });
    if (!accept.includes(res.code)) throw new StepFailed(`${operation} /${path.join('/')} answered ${codeText(res.code)}${res.payload.length ? ` ${res.payload.toString('utf8').slice(0, 100)}` : ''}`);
    return res;
  };
  let securityInstance: number | undefined;
  const serverInstance = 0;
  try {
    // Bootstrap-Discover exists from 1.1 (Core §5.2.7.1): the Bootstrap-Server account is the
    // Security instance without ssid; a 1.0 client answers 4.04/4.05/4.00 and we assume none
    const reserved = new Set<number>();
    if (ctx.v11) {
      const res = await call('discover', ['0'], { method: Method.GET, accept: ContentFormat.LINK }, [Code.CONTENT, Code.NOT_FOUND, Code.METHOD_NOT_ALLOWED, Code.BAD_REQUEST]);
      if (res.code === Code.CONTENT) for (const id of bootstrapAccounts(res.payload)) reserved.add(id);
    }
    await call('delete', ['0'], { method: Method.DELETE }, [Code.DELETED]);
    await call('delete', ['1'], { method: Method.DELETE }, [Code.DELETED]);
    // without Discover (1.0) the Bootstrap-Server account's instance is unknown: keep clear of
    // /0/0, where clients conventionally keep it (Leshan's and Wakaama's sample clients do)
    securityInstance = ctx.v11 ? 0 : 1;
    while (reserved.has(securityInstance)) securityInstance++;
    await write(ctx, call, SERVER, serverInstance, { 0: config.shortServerId, 1: config.lifetime, 6: false, 7: config.binding });
    await write(ctx, call, SECURITY, securityInstance, {
      0: config.serverUri,
      1: false, // not the Bootstrap-Server account
      2: SECURITY_MODE[credentials.mode],
      // LwM2M 1.1 Transport §5.1.1: PSK identity (UTF-8) in resource 3, the key in resource 5
      3: credentials.mode === 'psk' ? new Uint8Array(Buffer.from(credentials.identity, 'utf8')) : new Uint8Array(),
      4: new Uint8Array(),
      5: credentials.mode === 'psk' ? new Uint8Array(credentials.key) : new Uint8Array(),
      10: config.shortServerId,
    });
    if (ctx.v11) {
      // Bootstrap-Read (Core §5.2.7.5, Server and ACL objects only): the account is what we wrote
      const res = await call('read', ['1', String(serverInstance)], { method: Method.GET, accept: ctx.format }, [Code.CONTENT, Code.METHOD_NOT_ALLOWED, Code.NOT_FOUND]);
      if (res.code === Code.CONTENT) checkServerInstance(ctx, res, serverInstance, config);
    }
    await call('finish', ['bs'], { method: Method.POST }, [Code.CHANGED]);
    return { endpoint, ok: true, steps, startedAt, finishedAt: Date.now(), securityInstance, serverInstance };
  } catch (e) {
    return { endpoint, ok: false, steps, error: (e as Error).message, startedAt, finishedAt: Date.now(), ...(securityInstance !== undefined ? { securityInstance, serverInstance } : {}) };
  }
}

type Call = (operation: BootstrapStep['operation'], path: string[], req: Parameters<CoapEndpoint['request']>[1], accept: number[]) => Promise<ClientResponse>;

async function write(ctx: SessionContext, call: Call, objectId: number, instanceId: number, values: Record<number, ResourceValue>): Promise<void> {
  const resources: Resource[] = Object.entries(values).map(([id, value]) => {
    const model = ctx.models.resource(objectId, Number(id));
    if (!model) throw new StepFailed(`object ${objectId} has no resource ${id} in the object model`);
    return { kind: 'resource', id: Number(id), type: model.type, value };
  });
  const node: ObjectInstance = { kind: 'instance', id: instanceId, resources };
  const payload = Buffer.from(encodeNode(node, [objectId, instanceId], ctx.format, ctx.models));
  // Bootstrap-Write (Transport §6.1.7.4): PUT on the instance; it creates the instance when absent
  await call('write', [String(objectId), String(instanceId)], { method: Method.PUT, contentFormat: ctx.format, payload }, [Code.CHANGED]);
}

/** Security instances without an ssid attribute: the Bootstrap-Server account(s). */
export function bootstrapAccounts(linkFormat: Buffer): number[] {
  const out: number[] = [];
  for (const l of parseLinks(linkFormat.toString('utf8'))) {
    const m = /^\/0\/(\d+)$/.exec(l.uri);
    if (m && l.attributes.ssid === undefined) out.push(Number(m[1]));
  }
  return out;
}

function checkServerInstance(ctx: SessionContext, res: ClientResponse, instanceId: number, config: BootstrapConfig): void {
  const format = (res.contentFormat ?? ctx.format) as ContentFormat;
  let node;
  try {
    node = decodeNode(res.payload, format, [SERVER, instanceId], ctx.models);
  } catch (e) {
    throw new StepFailed(`read /1/${instanceId}: ${(e as Error).message}`);
  }
  const ssid = node.kind === 'instance' ? node.resources.find((r) => r.id === 0) : undefined;
  if (!ssid || ssid.kind !== 'resource' || ssid.value !== config.shortServerId) throw new StepFailed(`read /1/${instanceId}: the client kept another Short Server ID`);
}
