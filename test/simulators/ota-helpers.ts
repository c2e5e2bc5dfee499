// Drives a SimulatedClient over real UDP with a bare CoapEndpoint acting as the LwM2M server (it
// accepts registrations and sends DM requests), plus a tiny CoAP package server for pull updates.
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { CoapEndpoint, type ClientResponse, type InboundRequest } from '../../src/coap/endpoint.ts';
import { Code, Method, Option, getOption } from '../../src/coap/message.ts';
import { decodeBlock } from '../../src/coap/block-option.ts';
import { UdpTransport, type Peer } from '../../src/coap/transport.ts';
import { parseMessage } from '../../src/coap/wire.ts';
import { loadObjectModels } from '../../src/lwm2m/ddf-loader.ts';
import { ContentFormat } from '../../src/lwm2m/content-format.ts';
import { quietLogger } from '../../src/log.ts';
import { compile } from '../../compiler/compile.ts';
import { H } from '../../compiler/module/header-layout.ts';
import { loadProfile } from '../../simulators/client/device-profile.ts';
import { SimulatedClient, type ClientOptions } from '../../simulators/client/lwm2m-client.ts';
import { objectsDir } from '../../simulators/fleet.ts';

export const models = loadObjectModels(objectsDir);
export const timing = { ackTimeoutMs: 150, maxRetransmit: 2, requestTimeoutMs: 4000 };

const zoo = new URL('../../compiler/zoo/models/', import.meta.url);
const compiled = new Map<string, Uint8Array>();
/** A real module compiled from the zoo for esp32 (cached per test file: compiling costs seconds). */
export function zooModule(name: 'cnn' | 'dscnn' | 'mlp'): Uint8Array {
  let m = compiled.get(name);
  if (!m) {
    m = compile(new Uint8Array(readFileSync(new URL(`${name}.onnx`, zoo))), { target: 'esp32', name }).module;
    compiled.set(name, m);
  }
  return m;
}

/** The same module with another target code in its header, signed again (a valid module for another device). */
export function retarget(module: Uint8Array, code: number): Uint8Array {
  const out = new Uint8Array(module);
  new DataView(out.buffer).setUint16(H.targetCode, code, true);
  const body = out.subarray(0, out.length - 32);
  out.set(createHash('sha256').update(body).digest(), out.length - 32);
  return out;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export type Registration = { peer: Peer; query: readonly string[]; links: string; at: number };

/** A minimal LwM2M server: a CoAP endpoint that takes registrations and sends requests. */
export class TestServer {
  readonly registrations: Registration[] = [];
  /** Registration Updates (links is empty when the Update carried none) */
  readonly updates: Registration[] = [];
  private constructor(readonly ep: CoapEndpoint) {
    ep.onRequest((req) => this.handle(req));
  }

  static async start(): Promise<TestServer> {
    const transport = await UdpTransport.open({ host: '127.0.0.1', port: 0 });
    return new TestServer(new CoapEndpoint({ transport, log: quietLogger, timing }));
  }

  get address(): Peer {
    return this.ep.address;
  }

  private handle(req: InboundRequest) {
    if (req.method === Method.POST && req.path[0] === 'rd') {
      if (req.path.length === 1) {
        this.registrations.push({ peer: req.peer, query: req.query, links: req.payload.toString('utf8'), at: Date.now() });
        return { code: Code.CREATED, options: [{ number: Option.LOCATION_PATH, value: Buffer.from('rd') }, { number: Option.LOCATION_PATH, value: Buffer.from(`r${this.registrations.length}`) }] };
      }
      this.updates.push({ peer: req.peer, query: req.query, links: req.payload.toString('utf8'), at: Date.now() });
      return { code: Code.CHANGED };
    }
    if (req.method === Method.DELETE && req.path[0] === 'rd') return { code: Code.DELETED };
    return { code: Code.NOT_FOUND };
  }

  async read(dev: SimulatedClient, path: string): Promise<string> {
    const res = await this.ep.request(dev.address, { method: Method.GET, path: segs(path), accept: ContentFormat.TEXT });
    if (res.code !== Code.CONTENT) throw new Error(`read ${path} answered ${res.code >> 5}.${String(res.code & 31).padStart(2, '0')} ${res.payload.toString()}`);
    return res.payload.toString('utf8');
  }

  async readNumber(dev: SimulatedClient, path: string): Promise<number> {
    return Number(await this.read(dev, path));
  }

  write(dev: SimulatedClient, path: string, value: Uint8Array | string): Promise<ClientResponse> {
    const opaque = typeof value !== 'string';
    return this.ep.request(dev.address, {
      method: Method.PUT, path: segs(path), contentFormat: opaque ? ContentFormat.OPAQUE : ContentFormat.TEXT,
      payload: Buffer.from(opaque ? value : Buffer.from(value, 'utf8')),
    });
  }

  async execute(dev: SimulatedClient, path: string, args = ''): Promise<number> {
    const res = await this.ep.request(dev.address, { method: Method.POST, path: segs(path), ...(args ? { payload: Buffer.from(args), contentFormat: ContentFormat.TEXT } : {}) });
    return res.code;
  }

  close(): Promise<void> {
    return this.ep.close();
  }
}

function segs(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/** A SimulatedClient registered to `server`, with fast CoAP timing. */
export async function startDevice(server: TestServer, endpoint: string, opts: Partial<ClientOptions> = {}): Promise<SimulatedClient> {
  const dev = new SimulatedClient({
    endpoint, server: server.address, models, profile: loadProfile('esp32'), log: quietLogger, timing, autoUpdate: false, ...opts,
  });
  await dev.start();
  return dev;
}

export type FileServer = {
  readonly address: Peer;
  /** every GET seen: source port and the Block2 it asked for */
  readonly requests: { peer: Peer; num: number; size: number | undefined }[];
  uri(digest: string): string;
  put(bytes: Uint8Array): string;
  /** stop answering once `requests` has this many entries (a lost connection) */
  stallAfter: number;
  close(): Promise<void>;
};

/** A tiny package server: GET /fw/<sha256> answered block-wise by the endpoint. */
export async function startFileServer(): Promise<FileServer> {
  const blobs = new Map<string, Buffer>();
  const requests: FileServer['requests'] = [];
  const transport = await UdpTransport.open({ host: '127.0.0.1', port: 0 });
  const ep: CoapEndpoint = new CoapEndpoint({
    transport, log: quietLogger, timing,
    inboundFilter: (data, peer) => {
      const m = parseMessage(data);
      if (m.code !== Method.GET) return true;
      if (requests.length >= fs.stallAfter) return false;
      const b2 = getOption(m, Option.BLOCK2);
      const b = b2 ? decodeBlock(b2) : undefined;
      requests.push({ peer, num: b?.num ?? 0, size: b?.size });
      return true;
    },
  });
  const fs: FileServer = {
    address: ep.address,
    requests,
    stallAfter: Infinity,
    uri: (d) => `coap://127.0.0.1:${ep.address.port}/fw/${d}`,
    put(bytes) {
      const d = sha256(bytes);
      blobs.set(d, Buffer.from(bytes));
      return d;
    },
    close: () => ep.close(),
  };
  ep.onRequest((req) => {
    const body = req.path[0] === 'fw' ? blobs.get(req.path[1] ?? '') : undefined;
    if (!body) return { code: Code.NOT_FOUND, payload: Buffer.from('no such package') };
    return { code: Code.CONTENT, contentFormat: ContentFormat.OPAQUE, payload: body };
  });
  return fs;
}

/** A package server that serves `bytes` under the name `digest` (a server-side mix-up). */
export async function startAliasServer(digest: string, bytes: Uint8Array): Promise<{ uri: string; close: () => Promise<void> }> {
  const transport = await UdpTransport.open({ host: '127.0.0.1', port: 0 });
  const ep = new CoapEndpoint({ transport, log: quietLogger, timing });
  ep.onRequest(() => ({ code: Code.CONTENT, contentFormat: ContentFormat.OPAQUE, payload: Buffer.from(bytes) }));
  return { uri: `coap://127.0.0.1:${ep.address.port}/fw/${digest}`, close: () => ep.close() };
}

/**
 * Starts a block-wise Write of `bytes` from a separate server socket that goes silent after
 * `blocks` Block1 blocks (a push cut by a lost connection). The request's failure is swallowed.
 */
export async function stalledPush(dev: SimulatedClient, path: string, bytes: Uint8Array, blocks: number): Promise<{ close: () => Promise<void> }> {
  let sent = 0;
  const transport = await UdpTransport.open({ host: '127.0.0.1', port: 0 });
  const ep = new CoapEndpoint({
    transport, log: quietLogger, timing, blockSize: 512,
    outboundFilter: (data) => {
      const m = parseMessage(data);
      if (m.code === Method.PUT && getOption(m, Option.BLOCK1)) return ++sent <= blocks;
      return true;
    },
  });
  ep.request(dev.address, { method: Method.PUT, path: segs(path), contentFormat: ContentFormat.OPAQUE, payload: Buffer.from(bytes) }).catch(() => undefined);
  return { close: () => ep.close() };
}

/** Polls until `check` returns true (device states change asynchronously after a 2.04). */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 8000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const FASHION = '/usr/share/datasets/fashion-mnist';

/**
 * The shared setup of the Object 9 and Object 5 test files: a test server, a package file
 * server, the compiled CNN, and devices that are stopped after each test.
 */
export type OtaFixture = {
  readonly server: TestServer;
  readonly files: FileServer;
  readonly cnn: Uint8Array;
  device(name: string, opts?: Partial<ClientOptions>): Promise<SimulatedClient>;
};

export function useOtaFixture(): OtaFixture {
  let server: TestServer | undefined;
  let files: FileServer | undefined;
  let cnn: Uint8Array | undefined;
  const devices: SimulatedClient[] = [];
  beforeAll(async () => {
    server = await TestServer.start();
    files = await startFileServer();
    cnn = zooModule('cnn');
  }, 120_000);
  afterEach(async () => {
    await Promise.all(devices.splice(0).map((d) => d.stop()));
    files!.stallAfter = Infinity;
  });
  afterAll(async () => {
    await server?.close();
    await files?.close();
  });
  return {
    get server() { return server!; },
    get files() { return files!; },
    get cnn() { return cnn!; },
    async device(name, opts = {}) {
      const d = await startDevice(server!, name, opts);
      devices.push(d);
      return d;
    },
  };
}

