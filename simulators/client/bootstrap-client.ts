// The client side of the Bootstrap interface (LwM2M 1.1 TS Core §5.2.7, Transport §6.1), for a
// simulated device in client-initiated bootstrap: it answers the Bootstrap-Server's Discover, Read,
// Delete and Write on its object store and ends at Bootstrap-Finish, after which it registers to
// the LwM2M server account it was given.
import type { InboundRequest, OutboundResponse } from '../../src/coap/endpoint.ts';
import { Code, Method } from '../../src/coap/message.ts';
import type { Peer } from '../../src/coap/transport.ts';
import type { DtlsClientCredentials } from '../../src/dtls/credentials.ts';
import { decodeNode, encodeNode } from '../../src/lwm2m/codec.ts';
import { ContentFormat, isContentFormat } from '../../src/lwm2m/content-format.ts';
import { serializeLinks, type Link } from '../../src/lwm2m/link-format.ts';
import type { LwM2mNode, ResourceValue } from '../../src/lwm2m/node.ts';
import type { ModelLookup } from '../../src/lwm2m/object-model.ts';
import type { ObjectStore, ResourceData } from './object-store.ts';

/** Credentials of one account, as the Security object holds them (Core E.1 resources 2, 3, 5). */
export type AccountCredentials = { mode: 'psk'; identity: string; key: Buffer } | { mode: 'nosec' };

/** A server account read from Objects 0 and 1: where to connect and how. */
export type ServerAccount = {
  readonly uri: string;
  readonly peer: Peer;
  readonly bootstrap: boolean;
  readonly credentials: AccountCredentials;
  readonly shortServerId?: number;
  readonly lifetime?: number;
  readonly binding?: string;
};

/** The DTLS client credentials of a secured account (coaps://, Transport §5.1); undefined for NoSec. */
export function dtlsCredentialsOf(account: ServerAccount): DtlsClientCredentials | undefined {
  const c = account.credentials;
  return c.mode === 'psk' ? { mode: 'psk', identity: Buffer.from(c.identity, 'utf8'), key: c.key } : undefined;
}

const SECURITY = 0;
const SERVER = 1;
/** "/" deletes the instances of these objects: the accounts, not the device's own state (see below) */
const BOOTSTRAP_OBJECTS = [0, 1, 2];

export function peerOfUri(uri: string): Peer {
  const u = new URL(uri);
  const port = u.port === '' ? (u.protocol === 'coaps:' ? 5684 : 5683) : Number(u.port);
  return { address: u.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

function bytes(v: ResourceData | undefined): Buffer {
  return v instanceof Uint8Array ? Buffer.from(v) : Buffer.alloc(0);
}

/** The accounts in the store: Security instances with their Server instance (same Short Server ID). */
export function serverAccounts(store: ObjectStore): ServerAccount[] {
  const out: ServerAccount[] = [];
  for (const i of store.instanceIds(SECURITY)) {
    const uri = store.get([SECURITY, i, 0]);
    if (typeof uri !== 'string' || uri === '') continue;
    const isBootstrap = store.get([SECURITY, i, 1]) === true;
    const mode = store.get([SECURITY, i, 2]);
    const credentials: AccountCredentials = mode === 0 ? { mode: 'psk', identity: bytes(store.get([SECURITY, i, 3])).toString('utf8'), key: bytes(store.get([SECURITY, i, 5])) } : { mode: 'nosec' };
    const ssid = store.get([SECURITY, i, 10]);
    const server = store.instanceIds(SERVER).find((s) => store.get([SERVER, s, 0]) === ssid);
    const lifetime = server === undefined ? undefined : store.get([SERVER, server, 1]);
    const binding = server === undefined ? undefined : store.get([SERVER, server, 7]);
    out.push({
      uri, peer: peerOfUri(uri), bootstrap: isBootstrap, credentials,
      ...(typeof ssid === 'number' ? { shortServerId: ssid } : {}),
      ...(typeof lifetime === 'number' ? { lifetime } : {}),
      ...(typeof binding === 'string' ? { binding } : {}),
    });
  }
  return out;
}

/** The first LwM2M server account that has its Server instance: what a device registers to. */
export function lwm2mServerAccount(store: ObjectStore): ServerAccount | undefined {
  return serverAccounts(store).find((a) => !a.bootstrap && a.lifetime !== undefined);
}

function isBootstrapAccount(store: ObjectStore, instanceId: number): boolean {
  return store.get([SECURITY, instanceId, 1]) === true;
}

function toData(node: LwM2mNode): Record<number, ResourceData> {
  if (node.kind !== 'instance') throw new Error('Bootstrap-Write takes an instance');
  const out: Record<number, ResourceData> = {};
  for (const r of node.resources) out[r.id] = r.kind === 'resource' ? r.value : new Map(Object.entries(r.values).map(([k, v]) => [Number(k), v as ResourceValue]));
  return out;
}

/**
 * A handler for requests from the Bootstrap-Server while bootstrapping. `onFinish` is called on a
 * Bootstrap-Finish the configuration passes (at least one LwM2M server account).
 */
export function bootstrapHandler(store: ObjectStore, models: ModelLookup, onFinish: () => void): (req: InboundRequest) => OutboundResponse {
  const segs = (req: InboundRequest): number[] | undefined => (req.path.every((s) => /^\d+$/.test(s)) && req.path.length <= 2 ? req.path.map(Number) : undefined);
  return (req) => {
    if (req.path.length === 1 && req.path[0] === 'bs') {
      if (req.method !== Method.POST) return { code: Code.METHOD_NOT_ALLOWED };
      // Core §5.2.7.6: the client checks its configuration; 4.06 when it cannot be used
      if (!lwm2mServerAccount(store)) return { code: Code.NOT_ACCEPTABLE, payload: Buffer.from('no usable LwM2M server account') };
      setImmediate(onFinish); // the 2.04 goes out first
      return { code: Code.CHANGED };
    }
    const path = segs(req);
    if (!path) return { code: Code.NOT_FOUND };
    const [o, i] = path;
    switch (req.method) {
      case Method.GET: {
        if (req.accept === ContentFormat.LINK) return discover(store, o);
        // Bootstrap-Read targets the Server and ACL objects only (Core §5.2.7.5)
        if (o !== SERVER && o !== 2) return { code: Code.BAD_REQUEST, payload: Buffer.from('Bootstrap-Read takes Object 1 or 2') };
        const format = req.accept !== undefined && isContentFormat(req.accept) ? req.accept : ContentFormat.TLV;
        try {
          return { code: Code.CONTENT, contentFormat: format, payload: Buffer.from(encodeNode(store.read(path), path, format, models)) };
        } catch {
          return { code: Code.NOT_FOUND };
        }
      }
      case Method.DELETE: {
        // Core §5.2.7.3: every instance but the Bootstrap-Server account. On "/" we delete the
        // accounts (Objects 0, 1, 2) and keep the device's own objects (firmware, models) intact
        const objects = o === undefined ? BOOTSTRAP_OBJECTS : [o];
        for (const obj of objects) {
          for (const id of store.instanceIds(obj)) {
            if (i !== undefined && id !== i) continue;
            if (obj === SECURITY && isBootstrapAccount(store, id)) continue;
            store.removeInstance(obj, id);
          }
        }
        return { code: Code.DELETED };
      }
      case Method.PUT: {
        if (o === undefined || i === undefined) return { code: Code.BAD_REQUEST, payload: Buffer.from('Bootstrap-Write takes an instance path') };
        if (req.contentFormat === undefined || !isContentFormat(req.contentFormat)) return { code: Code.UNSUPPORTED_CONTENT_FORMAT };
        let values: Record<number, ResourceData>;
        try {
          values = toData(decodeNode(req.payload, req.contentFormat, path, models));
        } catch (e) {
          return { code: Code.BAD_REQUEST, payload: Buffer.from((e as Error).message) };
        }
        // Transport §6.1.7.4: Bootstrap-Write creates the instance, or overwrites the resources given
        const current: Record<number, ResourceData> = {};
        for (const [rid, v] of Object.entries(store.instanceIds(o).includes(i) ? readInstance(store, models, o, i) : {})) current[Number(rid)] = v;
        store.setInstance(o, i, { ...current, ...values });
        return { code: Code.CHANGED };
      }
      default:
        return { code: Code.METHOD_NOT_ALLOWED, payload: Buffer.from('bootstrapping: only Bootstrap-Discover, Read, Delete, Write and Finish') };
    }
  };
}

/** Every resource of an instance, readable or not (Security resources are not readable by DM). */
function readInstance(store: ObjectStore, models: ModelLookup, o: number, i: number): Record<number, ResourceData> {
  const out: Record<number, ResourceData> = {};
  for (const rid of models.object(o)?.resources.keys() ?? []) {
    const v = store.get([o, i, rid]);
    if (v !== undefined) out[rid] = v;
  }
  return out;
}

/** Bootstrap-Discover (Core §5.2.7.1): instances, with ssid and uri on the server accounts. */
function discover(store: ObjectStore, objectId: number | undefined): OutboundResponse {
  const links: Link[] = objectId === undefined ? [{ uri: '/', attributes: { lwm2m: '1.1' } }] : [];
  for (const o of objectId === undefined ? store.objectIds() : [objectId]) {
    const ids = store.instanceIds(o);
    if (ids.length === 0) links.push({ uri: `/${o}`, attributes: {} });
    for (const i of ids) {
      const attrs: Record<string, string> = {};
      if (o === SECURITY && !isBootstrapAccount(store, i)) {
        const ssid = store.get([SECURITY, i, 10]);
        if (typeof ssid === 'number') attrs.ssid = String(ssid);
        attrs.uri = `"${String(store.get([SECURITY, i, 0]))}"`;
      }
      if (o === SERVER) attrs.ssid = String(store.get([SERVER, i, 0]));
      links.push({ uri: `/${o}/${i}`, attributes: attrs });
    }
  }
  return { code: Code.CONTENT, contentFormat: ContentFormat.LINK, payload: Buffer.from(serializeLinks(links)) };
}
