// What an endpoint name may be (Core §6.2.1: `ep`, unique per server). The name becomes a key in
// every store, a URL segment of the API, an MQTT topic level and a log field, so it is checked
// from the raw bytes of the Uri-Query option: invalid UTF-8 is refused rather than replaced with
// U+FFFD (which would make `dev\xfe` and `dev\xff` the same device).
import { isAscii } from 'node:buffer';

export const MAX_ENDPOINT_BYTES = 255;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes UTF-8 strictly; undefined when the bytes are not valid UTF-8. */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  // ASCII (every name, query and link set we see) is valid UTF-8: latin1 decodes it without
  // the TextDecoder call
  if (isAscii(bytes)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

// C0 and C1 controls, DEL; bidirectional controls (embeddings, overrides, isolates, marks) that
// make a name display as another one (Unicode TR 9, "Trojan Source")
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069/\\]/u;

/** Why `name` is not acceptable as an endpoint name, or undefined when it is. */
export function endpointNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'the endpoint name is empty';
  if (Buffer.byteLength(name, 'utf8') > MAX_ENDPOINT_BYTES) return `the endpoint name is longer than ${MAX_ENDPOINT_BYTES} bytes`;
  const bad = FORBIDDEN.exec(name);
  if (bad) return `the endpoint name contains U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} (no control, bidi, / or \\ characters)`;
  if (name === '.' || name === '..') return `"${name}" is not an endpoint name`;
  if (/^\s|\s$/u.test(name)) return 'the endpoint name starts or ends with white space';
  return undefined;
}
