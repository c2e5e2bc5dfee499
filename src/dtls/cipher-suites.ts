// The cipher suites this server speaks, in its order of preference (LwM2M 1.1 Transport §5.2.x:
// the CCM_8 suites are mandatory; DTLS-NOTES.md: choose by server preference to get CCM_8).

export type KeyExchange = 'psk' | 'ecdhe_ecdsa';
export type BulkCipher = 'aes-128-ccm8' | 'aes-128-gcm' | 'aes-128-cbc-sha256';

export type CipherSuite = {
  readonly id: number;
  readonly name: string;
  readonly keyExchange: KeyExchange;
  readonly cipher: BulkCipher;
};

export const CipherSuites = {
  /** RFC 6655 §4 */
  PSK_WITH_AES_128_CCM_8: { id: 0xc0a8, name: 'TLS_PSK_WITH_AES_128_CCM_8', keyExchange: 'psk', cipher: 'aes-128-ccm8' },
  /** RFC 5487 §3.1 */
  PSK_WITH_AES_128_CBC_SHA256: { id: 0x00ae, name: 'TLS_PSK_WITH_AES_128_CBC_SHA256', keyExchange: 'psk', cipher: 'aes-128-cbc-sha256' },
  /** RFC 7251 §2 */
  ECDHE_ECDSA_WITH_AES_128_CCM_8: { id: 0xc0ae, name: 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8', keyExchange: 'ecdhe_ecdsa', cipher: 'aes-128-ccm8' },
  /** RFC 5289 §3.2 */
  ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: { id: 0xc02b, name: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', keyExchange: 'ecdhe_ecdsa', cipher: 'aes-128-gcm' },
} as const satisfies Record<string, CipherSuite>;

export const serverPreference: readonly CipherSuite[] = [
  CipherSuites.PSK_WITH_AES_128_CCM_8,
  CipherSuites.PSK_WITH_AES_128_CBC_SHA256,
  CipherSuites.ECDHE_ECDSA_WITH_AES_128_CCM_8,
  CipherSuites.ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
];

export function suiteById(id: number): CipherSuite | undefined {
  return serverPreference.find((s) => s.id === id);
}

/** TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3) */
export const EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff;

/** Key material sizes for the key block (RFC 5246 §6.3). */
export function keySizes(c: BulkCipher): { macKey: number; encKey: number; fixedIv: number } {
  switch (c) {
    case 'aes-128-ccm8':
    case 'aes-128-gcm':
      return { macKey: 0, encKey: 16, fixedIv: 4 }; // RFC 6655 §3, RFC 5288 §3
    case 'aes-128-cbc-sha256':
      return { macKey: 32, encKey: 16, fixedIv: 0 };
  }
}
