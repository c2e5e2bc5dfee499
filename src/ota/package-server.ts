// Serves packages for pull updates: GET coap://<server>/fw/<sha256> (LwM2M Object 5 /5/0/1 and
// Object 9 /9/x/3 URIs). The endpoint cuts the body into Block2 blocks of the size the device asks
// for (RFC 7959 §2.4), with the same ETag and Content-Format on every block.
import type { InboundRequest, OutboundResponse } from '../coap/endpoint.ts';
import type { Peer } from '../coap/transport.ts';
import { Code, Method } from '../coap/message.ts';
import { ContentFormat } from '../lwm2m/content-format.ts';
import { isDigest, type PackageRepository } from './package-repository.ts';

export const PACKAGE_PATH = 'fw';

/**
 * `knownIdentity` judges peers of a secured transport: a session must belong to a device in the
 * security store (issue 12 §2), else 4.03. Plain CoAP peers are served as before (run --no-plain
 * to keep packages off plain CoAP).
 */
export function createPackageHandler(repo: PackageRepository, onServe?: (digest: string, bytes: number) => void, knownIdentity?: (peer: Peer) => Promise<boolean>): (req: InboundRequest) => Promise<OutboundResponse> {
  return async (req) => {
    if (req.peer.identity && knownIdentity && !(await knownIdentity(req.peer))) return { code: Code.FORBIDDEN, payload: Buffer.from('not authorized') };
    if (req.method !== Method.GET) return { code: Code.METHOD_NOT_ALLOWED, payload: Buffer.from('packages are read with GET') };
    if (req.accept !== undefined && req.accept !== ContentFormat.OPAQUE) return { code: Code.NOT_ACCEPTABLE, payload: Buffer.from('packages are application/octet-stream (42)') };
    const digest = req.path[1];
    if (req.path.length !== 2 || digest === undefined || !isDigest(digest)) return { code: Code.NOT_FOUND, payload: Buffer.from('package URIs are /fw/<sha256 hex>') };
    const body = await repo.get(digest);
    if (!body) return { code: Code.NOT_FOUND, payload: Buffer.from(`no package ${digest}`) };
    onServe?.(digest, body.length);
    return { code: Code.CONTENT, contentFormat: ContentFormat.OPAQUE, payload: body };
  };
}

/** The pull URI; `coaps` for a device that registered over DTLS (it pulls over a secured session). */
export function packageUri(host: string, port: number, digest: string, scheme: 'coap' | 'coaps' = 'coap'): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${h}:${port}/${PACKAGE_PATH}/${digest}`;
}
