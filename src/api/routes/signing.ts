// Package signing: the server's public key (to provision devices), external signers (admin),
// a package's signature status, signing with the server's key, and detached signatures.
import type { FastifyInstance } from 'fastify';
import { PACKAGE_KINDS, type PackageKind } from '../../../compiler/module/signed-package.ts';
import { isDigest } from '../../ota/package-repository.ts';
import type { Platform } from '../../platform.ts';
import { SigningError, type PackageSigning, type SignatureStatus } from '../../signing/package-signing.ts';
import { ApiError, errorSchema } from '../errors.ts';

const STATUS: Record<SigningError['code'], number> = { BAD_KEY: 400, BAD_MANIFEST: 400, DIGEST_MISMATCH: 400, UNKNOWN_SIGNER: 422, BAD_SIGNATURE: 422 };
const digestParams = { type: 'object', properties: { digest: { type: 'string', pattern: '^[0-9a-f]{64}$' } }, required: ['digest'] } as const;

export function signatureToJson(s: SignatureStatus): Record<string, unknown> {
  if (s.state === 'signed') return { state: s.state, keyId: s.keyId, signer: s.signer, manifest: s.manifest };
  if (s.state === 'invalid') return { state: s.state, keyId: s.keyId, reason: s.reason };
  return { state: s.state };
}

export async function signingRoutes(app: FastifyInstance, opts: { platform: Platform; signing: PackageSigning }): Promise<void> {
  const { platform, signing } = opts;
  const known = async (digest: string): Promise<void> => {
    if (!isDigest(digest) || !(await platform.repo.has(digest))) throw new ApiError(404, 'PACKAGE_NOT_FOUND', `no package ${digest}`);
  };
  const wrap = async <T>(p: Promise<T>): Promise<T> => p.catch((e: unknown) => {
    if (e instanceof SigningError) throw new ApiError(STATUS[e.code], e.code, e.message);
    throw e;
  });

  app.get('/signing-key', {
    config: { role: 'viewer' },
    schema: { summary: "The server's Ed25519 public key (raw, base64) and key id, to provision devices with" },
  }, async () => ({ algorithm: 'Ed25519', keyId: signing.key.keyId, publicKey: Buffer.from(signing.key.publicKey).toString('base64') }));

  app.post<{ Body: { name: string; publicKey: string } }>('/signers', {
    config: { role: 'admin' },
    schema: {
      summary: "Register an external signer's Ed25519 public key (raw 32 bytes, base64)",
      body: { type: 'object', properties: { name: { type: 'string', minLength: 1, maxLength: 64 }, publicKey: { type: 'string', maxLength: 64 } }, required: ['name', 'publicKey'], additionalProperties: false },
      response: { 400: errorSchema },
    },
  }, async (req, reply) => {
    const s = await wrap(signing.addSigner(req.body.name, Buffer.from(req.body.publicKey, 'base64')));
    req.auditTarget = { signer: s.id };
    return reply.status(201).send({ keyId: s.id, name: s.name, publicKey: s.publicKey, createdAt: new Date(s.createdAt).toISOString() });
  });

  app.get('/signers', {
    config: { role: 'admin' },
    schema: { summary: 'Registered external signers' },
  }, async () => (await signing.listSigners()).map((s) => ({ keyId: s.id, name: s.name, publicKey: s.publicKey, createdAt: new Date(s.createdAt).toISOString() })));

  app.get<{ Params: { digest: string } }>('/packages/:digest/signature', {
    config: { role: 'viewer' },
    schema: { summary: "A package's signature, verified now: signed (by whom), unsigned or invalid", params: digestParams, response: { 404: errorSchema } },
  }, async (req) => {
    await known(req.params.digest);
    return signatureToJson(await signing.status(req.params.digest));
  });

  app.post<{ Params: { digest: string }; Body: { manifest?: string; signature?: string; name?: string; version?: string; kind?: PackageKind; target?: string } }>('/packages/:digest/signature', {
    config: { role: 'deployer' },
    schema: {
      summary: "Sign a package: with the server's key ({ name, version, kind, target }), or attach a detached signature of a registered signer ({ manifest, signature })",
      params: digestParams,
      body: {
        type: 'object',
        properties: {
          manifest: { type: 'string', maxLength: 4096, description: 'the exact manifest JSON the signer signed (docs/package-signing.md)' },
          signature: { type: 'string', maxLength: 128, description: 'Ed25519 signature, base64' },
          name: { type: 'string', minLength: 1, maxLength: 128 }, version: { type: 'string', minLength: 1, maxLength: 64 },
          kind: { type: 'string', enum: [...PACKAGE_KINDS] }, target: { type: 'string', minLength: 1, maxLength: 64 },
        },
        additionalProperties: false,
      },
      response: { 400: errorSchema, 404: errorSchema, 422: errorSchema },
    },
  }, async (req, reply) => {
    const { digest } = req.params;
    await known(digest);
    const b = req.body;
    req.auditTarget = { package: digest };
    if (b.manifest !== undefined || b.signature !== undefined) {
      if (b.manifest === undefined || b.signature === undefined) throw new ApiError(400, 'BAD_REQUEST', 'a detached signature needs both manifest and signature');
      return reply.status(201).send(signatureToJson(await wrap(signing.attach(digest, b.manifest, b.signature))));
    }
    if (!b.name || !b.version || !b.kind || !b.target) throw new ApiError(400, 'BAD_REQUEST', "signing with the server's key needs name, version, kind and target");
    return reply.status(201).send(signatureToJson(await signing.sign(digest, { name: b.name, version: b.version, kind: b.kind, target: b.target })));
  });
}
