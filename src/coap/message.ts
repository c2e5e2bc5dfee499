// A CoAP message as plain data (RFC 7252 §3) and the option numbers we use.

export type MessageType = 'CON' | 'NON' | 'ACK' | 'RST';

export type CoapOption = { readonly number: number; readonly value: Buffer };

export type CoapMessage = {
  readonly type: MessageType;
  /** class*32+detail as the byte on the wire: 1 = GET, 69 = 2.05 ... */
  readonly code: number;
  readonly messageId: number;
  readonly token: Buffer;
  /** sorted by option number on the wire; order among equal numbers is kept */
  readonly options: readonly CoapOption[];
  readonly payload: Buffer;
};

export const Option = {
  IF_MATCH: 1,
  URI_HOST: 3,
  ETAG: 4,
  IF_NONE_MATCH: 5,
  OBSERVE: 6,
  URI_PORT: 7,
  LOCATION_PATH: 8,
  OSCORE: 9,
  URI_PATH: 11,
  CONTENT_FORMAT: 12,
  MAX_AGE: 14,
  URI_QUERY: 15,
  ACCEPT: 17,
  LOCATION_QUERY: 20,
  BLOCK2: 23,
  BLOCK1: 27,
  SIZE2: 28,
  PROXY_URI: 35,
  PROXY_SCHEME: 39,
  SIZE1: 60,
  NO_RESPONSE: 258,
} as const;

const KNOWN_OPTIONS: ReadonlySet<number> = new Set(Object.values(Option));

/** RFC 7252 §5.4.1: an unrecognized option with an odd number is critical. */
export function isUnknownCritical(number: number): boolean {
  return (number & 1) === 1 && !KNOWN_OPTIONS.has(number);
}

export const Method = { GET: 1, POST: 2, PUT: 3, DELETE: 4, FETCH: 5, PATCH: 6, IPATCH: 7 } as const;
export type MethodName = keyof typeof Method;

export function code(cls: number, detail: number): number {
  return (cls << 5) | detail;
}

export const Code = {
  EMPTY: 0,
  CREATED: code(2, 1),
  DELETED: code(2, 2),
  VALID: code(2, 3),
  CHANGED: code(2, 4),
  CONTENT: code(2, 5),
  CONTINUE: code(2, 31),
  BAD_REQUEST: code(4, 0),
  UNAUTHORIZED: code(4, 1),
  BAD_OPTION: code(4, 2),
  FORBIDDEN: code(4, 3),
  NOT_FOUND: code(4, 4),
  METHOD_NOT_ALLOWED: code(4, 5),
  NOT_ACCEPTABLE: code(4, 6),
  REQUEST_ENTITY_INCOMPLETE: code(4, 8),
  PRECONDITION_FAILED: code(4, 12),
  REQUEST_ENTITY_TOO_LARGE: code(4, 13),
  UNSUPPORTED_CONTENT_FORMAT: code(4, 15),
  INTERNAL_SERVER_ERROR: code(5, 0),
  NOT_IMPLEMENTED: code(5, 1),
  SERVICE_UNAVAILABLE: code(5, 3),
  GATEWAY_TIMEOUT: code(5, 4),
  PROXYING_NOT_SUPPORTED: code(5, 5),
} as const;

/** "2.05" style text of a code byte. */
export function codeText(c: number): string {
  return `${c >> 5}.${String(c & 31).padStart(2, '0')}`;
}

export function isRequestCode(c: number): boolean {
  return c >= 1 && c <= 31;
}

export function isSuccess(c: number): boolean {
  return c >> 5 === 2;
}

export function getOption(msg: Pick<CoapMessage, 'options'>, number: number): Buffer | undefined {
  const options = msg.options;
  for (let i = 0; i < options.length; i++) if (options[i]!.number === number) return options[i]!.value;
  return undefined;
}

export function getOptions(msg: Pick<CoapMessage, 'options'>, number: number): Buffer[] {
  return msg.options.filter((o) => o.number === number).map((o) => o.value);
}

const EMPTY_VALUE = Buffer.alloc(0);

/** RFC 7252 §3.2 uint option value: big-endian, leading zero bytes stripped. */
export function encodeUint(n: number): Buffer {
  if (n === 0) return EMPTY_VALUE;
  let len = 0;
  for (let v = n; v > 0; v = Math.floor(v / 256)) len++;
  const out = Buffer.allocUnsafe(len);
  let v = n;
  for (let i = len - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

export function decodeUint(b: Buffer): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) n = n * 256 + b[i]!;
  return n;
}

export function getUintOption(msg: Pick<CoapMessage, 'options'>, number: number): number | undefined {
  const v = getOption(msg, number);
  return v === undefined ? undefined : decodeUint(v);
}

export function uriPath(msg: Pick<CoapMessage, 'options'>): string[] {
  return stringValues(msg, Option.URI_PATH);
}

export function uriQuery(msg: Pick<CoapMessage, 'options'>): string[] {
  return stringValues(msg, Option.URI_QUERY);
}

function stringValues(msg: Pick<CoapMessage, 'options'>, number: number): string[] {
  const out: string[] = [];
  const options = msg.options;
  for (let i = 0; i < options.length; i++) if (options[i]!.number === number) out.push(options[i]!.value.toString('utf8'));
  return out;
}

export function stringOptions(number: number, values: readonly string[]): CoapOption[] {
  return values.map((v) => ({ number, value: Buffer.from(v, 'utf8') }));
}

export function uintOption(number: number, value: number): CoapOption {
  return { number, value: encodeUint(value) };
}
