// Whether an authenticated peer is one of our devices: its PSK identity or raw public key is in the
// security store, or its X.509 certificate names an endpoint that has security info. The package
// server serves secured sessions only to such peers (issue 12 §2).
import type { Peer } from '../coap/transport.ts';
import { canonicalPublicKey } from './security-info.ts';
import type { SecurityStore } from './security-store.ts';

export function knownIdentity(store: SecurityStore): (peer: Peer) => Promise<boolean> {
  return async (peer) => {
    const id = peer.identity;
    if (!id) return false;
    switch (id.mode) {
      case 'psk':
        return (await store.byPskIdentity(id.identity))?.mode === 'psk';
      case 'rpk': {
        let key: string;
        try {
          key = canonicalPublicKey(Buffer.from(id.publicKey, 'base64'));
        } catch {
          return false;
        }
        return (await store.byPublicKey(key))?.mode === 'rpk';
      }
      case 'x509':
        for (const name of [id.commonName, ...id.altNames]) if ((await store.get(name))?.mode === 'x509') return true;
        return false;
    }
  };
}
