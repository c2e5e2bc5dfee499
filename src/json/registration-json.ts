// How a registration looks on the northbound interfaces (REST API, SSE, MQTT).
import type { Registration } from '../registration/registration.ts';

export function registrationToJson(r: Registration, awake?: boolean): Record<string, unknown> {
  return {
    endpoint: r.endpoint,
    registrationId: r.id,
    lwm2mVersion: r.lwm2mVersion,
    lifetime: r.lifetime,
    binding: r.binding,
    queueMode: r.queueMode,
    awake: r.queueMode ? (awake ?? false) : true,
    smsNumber: r.smsNumber ?? null,
    rootPath: r.rootPath === '' ? '/' : r.rootPath,
    address: `${r.address.address}:${r.address.port}`,
    contentFormats: r.contentFormats,
    objectLinks: r.objectLinks.map((l) => ({ path: '/' + l.path.join('/'), attributes: l.attributes })),
    objectVersions: r.objectVersions,
    registeredAt: new Date(r.registeredAt).toISOString(),
    lastUpdate: new Date(r.lastUpdate).toISOString(),
    expiresAt: new Date(r.expiresAt).toISOString(),
    additionalAttributes: r.additional,
    node: r.node ?? null,
    // how the device authenticated (issue 12 §2): the identity, never a key
    security: r.address.identity === undefined ? { mode: 'nosec' }
      : r.address.identity.mode === 'psk' ? { mode: 'psk', identity: r.address.identity.identity }
      : r.address.identity.mode === 'rpk' ? { mode: 'rpk', publicKey: r.address.identity.publicKey }
      : { mode: 'x509', commonName: r.address.identity.commonName },
  };
}

export const registrationSchema = {
  type: 'object',
  properties: {
    endpoint: { type: 'string' }, registrationId: { type: 'string' }, lwm2mVersion: { type: 'string' },
    lifetime: { type: 'integer' }, binding: { type: 'string' }, queueMode: { type: 'boolean' }, awake: { type: 'boolean' },
    smsNumber: { type: ['string', 'null'] }, rootPath: { type: 'string' }, address: { type: 'string' },
    contentFormats: { type: 'array', items: { type: 'integer' } },
    objectLinks: { type: 'array', items: { type: 'object', properties: { path: { type: 'string' }, attributes: { type: 'object', additionalProperties: true } } } },
    objectVersions: { type: 'object', additionalProperties: { type: 'string' } },
    registeredAt: { type: 'string' }, lastUpdate: { type: 'string' }, expiresAt: { type: 'string' },
    additionalAttributes: { type: 'object', additionalProperties: { type: 'string' } },
    node: { type: ['string', 'null'], description: 'server node serving the device (several nodes sharing Redis)' },
    security: {
      type: 'object', description: 'how the device authenticated: nosec (plain CoAP), psk identity, rpk public key, x509 common name',
      properties: { mode: { type: 'string' }, identity: { type: 'string' }, publicKey: { type: 'string' }, commonName: { type: 'string' } },
    },
  },
} as const;
