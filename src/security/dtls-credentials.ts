// What the DTLS layer (src/dtls) asks the security store during a handshake: the key of a PSK
// identity (RFC 4279 §2: an unknown identity fails the handshake with unknown_psk_identity), and
// whether a raw public key (RFC 7250) belongs to a known device. Endpoint-name checks come later,
// at registration (registration-authorizer.ts), once the device names itself.
import { canonicalPublicKey } from './security-info.ts';
import type { SecurityStore } from './security-store.ts';

export type DtlsCredentials = {
  /** the PSK for this identity (the ClientKeyExchange's psk_identity bytes), undefined when unknown */
  pskKey(identity: Buffer): Promise<Buffer | undefined>;
  /** true when this DER SubjectPublicKeyInfo is the RPK of some endpoint */
  rpkTrusted(spkiDer: Buffer): Promise<boolean>;
};

export function dtlsCredentialsFromStore(store: SecurityStore): DtlsCredentials {
  return {
    async pskKey(identity) {
      // LwM2M 1.1 Transport §5.1.1: the identity is the UTF-8 "PSK Identity" resource /0/x/3
      const text = identity.toString('utf8');
      if (!Buffer.from(text, 'utf8').equals(identity)) return undefined; // not UTF-8: no device has it
      const info = await store.byPskIdentity(text);
      return info?.mode === 'psk' ? Buffer.from(info.key, 'hex') : undefined;
    },
    async rpkTrusted(spkiDer) {
      let key: string;
      try {
        key = canonicalPublicKey(spkiDer);
      } catch {
        return false;
      }
      return (await store.byPublicKey(key))?.mode === 'rpk';
    },
  };
}
