// TLS alerts (RFC 5246 §7.2), the ones this implementation sends or names in its logs.

export const AlertLevel = { warning: 1, fatal: 2 } as const;

export const AlertDescription = {
  closeNotify: 0,
  unexpectedMessage: 10,
  badRecordMac: 20,
  handshakeFailure: 40,
  badCertificate: 42,
  unsupportedCertificate: 43,
  certificateExpired: 45,
  certificateUnknown: 46,
  illegalParameter: 47,
  unknownCa: 48,
  accessDenied: 49,
  decodeError: 50,
  decryptError: 51,
  protocolVersion: 70,
  insufficientSecurity: 71,
  internalError: 80,
  noRenegotiation: 100,
  unsupportedExtension: 110,
  /** RFC 4279 §2 */
  unknownPskIdentity: 115,
} as const;

export type Alert = { level: number; description: number };

export function encodeAlert(a: Alert): Buffer {
  return Buffer.from([a.level, a.description]);
}

export function parseAlert(b: Buffer): Alert | undefined {
  if (b.length !== 2) return undefined;
  return { level: b[0]!, description: b[1]! };
}

const names = new Map<number, string>(Object.entries(AlertDescription).map(([k, v]) => [v, k]));
export function alertName(description: number): string {
  return names.get(description) ?? `alert(${description})`;
}

/** A handshake failure as a value: which alert to send and why. */
export class HandshakeFailure extends Error {
  constructor(readonly description: number, message: string) {
    super(message);
  }
}
