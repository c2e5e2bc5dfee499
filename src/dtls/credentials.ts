// What the DTLS layer needs to know about keys, passed in by the server (the security store
// answers these lookups; the DTLS code never stores device credentials itself).
import type { KeyObject, X509Certificate } from 'node:crypto';

export type DtlsCredentials = {
  /** The pre-shared key for a PSK identity (RFC 4279 §2); undefined for an unknown identity. */
  pskKey?(identity: Buffer): Promise<Buffer | undefined> | Buffer | undefined;
  /** Optional PSK identity hint sent in a ServerKeyExchange (RFC 4279 §2); clients ignore it. */
  pskHint?: Buffer;
  /** Whether a client's raw public key (DER SubjectPublicKeyInfo, RFC 7250) is known. */
  rpkTrusted?(spkiDer: Buffer): Promise<boolean> | boolean;
  /** CA certificates that client X.509 chains must end in. */
  trustStore?: readonly X509Certificate[];
  /** P-256 private key for the ECDHE_ECDSA suites (RPK and X.509). */
  serverKey?: KeyObject;
  /** Our certificate chain, leaf first, for X.509 clients; RPK clients get the public key alone. */
  serverCertChain?: readonly X509Certificate[];
};

/** The credentials of a DTLS client (the simulators): one PSK, or one key pair (RPK / X.509). */
export type DtlsClientCredentials =
  | { readonly mode: 'psk'; readonly identity: Buffer; readonly key: Buffer }
  | {
      readonly mode: 'rpk';
      readonly privateKey: KeyObject;
      /** the server's DER SubjectPublicKeyInfo; when absent, any server key is accepted */
      readonly serverPublicKey?: Buffer;
    }
  | {
      readonly mode: 'x509';
      readonly privateKey: KeyObject;
      readonly certChain: readonly X509Certificate[];
      readonly trustStore: readonly X509Certificate[];
    };
