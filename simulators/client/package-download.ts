// Pull delivery of an update package (Object 5 /5/0/1, Object 9 /9/x/3): the device parses the
// Package URI the server wrote and GETs it from a socket of its own, block-wise (RFC 7959 §2.4:
// it proposes its block size with Block2 in the first request), as constrained clients do.
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import type { CoapEndpoint } from '../../src/coap/endpoint.ts';
import { encodeBlock } from '../../src/coap/block-option.ts';
import { Code, Method, Option, codeText } from '../../src/coap/message.ts';
import type { Peer } from '../../src/coap/transport.ts';

/** A Package URI the device can fetch. `digest` is the last path segment when it is 64 hex digits. */
export type PackageUri = {
  readonly host: string;
  readonly port: number;
  readonly path: readonly string[];
  readonly query: readonly string[];
  readonly digest?: string;
  /** coaps:// (CoAP over DTLS, RFC 7252 §6.2) */
  readonly secure?: boolean;
};

export type UriProblem = 'invalid-uri' | 'unsupported-protocol';

export type ParsedUri = { readonly ok: true; readonly uri: PackageUri } | { readonly ok: false; readonly problem: UriProblem; readonly message: string };

const COAP_DEFAULT_PORT = 5683; // RFC 7252 §6.1
const COAPS_DEFAULT_PORT = 5684; // RFC 7252 §6.2
const OTHER_SCHEMES = new Set(['coaps:', 'coap+tcp:', 'coaps+tcp:', 'coap+ws:', 'coaps+ws:', 'http:', 'https:']);

/**
 * RFC 7252 §6.1 coap URI (and §6.2 coaps for a device with a secured transport); every other
 * scheme a device might be given is "unsupported protocol".
 */
export function parsePackageUri(text: string, opts: { coaps?: boolean } = {}): ParsedUri {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, problem: 'invalid-uri', message: `not a URI: ${JSON.stringify(text)}` };
  }
  const secure = url.protocol === 'coaps:' && opts.coaps === true;
  if (url.protocol !== 'coap:' && !secure) {
    return OTHER_SCHEMES.has(url.protocol)
      ? { ok: false, problem: 'unsupported-protocol', message: `this device fetches packages over coap:// only, not ${url.protocol}//` }
      : { ok: false, problem: 'invalid-uri', message: `unknown URI scheme ${url.protocol}` };
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === '') return { ok: false, problem: 'invalid-uri', message: 'the URI has no host' };
  if (url.hash !== '') return { ok: false, problem: 'invalid-uri', message: 'a coap URI has no fragment (RFC 7252 §6.1)' };
  const port = url.port === '' ? (secure ? COAPS_DEFAULT_PORT : COAP_DEFAULT_PORT) : Number(url.port);
  let path: string[];
  let query: string[];
  try {
    path = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
    query = url.search === '' ? [] : url.search.slice(1).split('&').map(decodeURIComponent);
  } catch {
    return { ok: false, problem: 'invalid-uri', message: 'bad percent-encoding in the URI' };
  }
  const last = path[path.length - 1];
  const digest = last !== undefined && /^[0-9a-fA-F]{64}$/.test(last) ? last.toLowerCase() : undefined;
  return { ok: true, uri: { host, port, path, query, ...(digest ? { digest } : {}), ...(secure ? { secure } : {}) } };
}

export type DownloadFailure = 'not-found' | 'connection-lost' | 'cancelled';

export class DownloadError extends Error {
  constructor(readonly reason: DownloadFailure, message: string) {
    super(message);
  }
}

export type DownloadOptions = {
  /** opens the device's download socket (a new UDP port, with the device's fault filters; DTLS to `to` when secure) */
  readonly openEndpoint: (to: Peer, secure: boolean) => Promise<CoapEndpoint>;
  /** Block2 size to ask for: 16..1024, a power of two */
  readonly blockSize: number;
  /** whole-transfer limit; the endpoint's own CON timeouts fail each exchange earlier */
  readonly timeoutMs?: number;
  /** the device can pull over coaps:// (its download socket is a secured transport) */
  readonly coaps?: boolean;
};

/** A running download; cancel() closes its socket and the promise rejects with 'cancelled'. */
export type Download = { readonly done: Promise<Uint8Array>; cancel(): void };

export function startDownload(uri: PackageUri, opts: DownloadOptions): Download {
  let endpoint: CoapEndpoint | undefined;
  let cancelled = false;
  let timer: NodeJS.Timeout | undefined;
  const run = async (): Promise<Uint8Array> => {
    // the device's sockets are bound to an IPv4 address (ClientOptions.bindAddress)
    const address = isIP(uri.host) ? uri.host : (await lookup(uri.host, { family: 4 }).catch(() => undefined))?.address;
    if (!address) throw new DownloadError('not-found', `cannot resolve ${uri.host}`);
    if (cancelled) throw new DownloadError('cancelled', 'download cancelled');
    endpoint = await opts.openEndpoint({ address, port: uri.port }, uri.secure === true);
    if (cancelled) {
      await endpoint.close();
      throw new DownloadError('cancelled', 'download cancelled');
    }
    const peer: Peer = { address, port: uri.port };
    const ep = endpoint;
    const overall = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DownloadError('connection-lost', `download took longer than ${opts.timeoutMs} ms`)), opts.timeoutMs ?? 120_000);
      timer.unref();
    });
    try {
      const res = await Promise.race([
        ep.request(peer, {
          method: Method.GET, path: uri.path, query: uri.query, blockSize: opts.blockSize,
          // RFC 7959 §2.4: a client may propose the block size in its first request (early negotiation)
          options: [{ number: Option.BLOCK2, value: encodeBlock({ num: 0, more: false, size: opts.blockSize }) }],
        }),
        overall,
      ]);
      if (res.code === Code.NOT_FOUND) throw new DownloadError('not-found', `the package server answered 4.04 ${res.payload.toString('utf8')}`);
      if (res.code !== Code.CONTENT) throw new DownloadError('connection-lost', `the package server answered ${codeText(res.code)}`);
      return new Uint8Array(res.payload);
    } catch (e) {
      if (e instanceof DownloadError) throw e;
      if (cancelled) throw new DownloadError('cancelled', 'download cancelled');
      throw new DownloadError('connection-lost', (e as Error).message);
    } finally {
      clearTimeout(timer);
      await ep.close();
    }
  };
  return {
    done: run(),
    cancel() {
      cancelled = true;
      void endpoint?.close();
    },
  };
}
