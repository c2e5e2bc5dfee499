// CoRE Link Format (Content-Format 40, RFC 6690 §2): registration payloads and Discover responses.
//   Link       = link-value *( "," link-value )
//   link-value = "<" URI-Reference ">" *( ";" link-param )
//   link-param = parmname [ "=" ( ptoken / quoted-string ) ]
// Whitespace around separators is tolerated (clients in the wild send it).
import { badPayload } from './codec-error.ts';

export type Link = { uri: string; attributes: Record<string, string | true> };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

const PARMNAME = /^[A-Za-z0-9!#$&+\-.^_`|~*]+$/; // RFC 8288 token, plus "*" for ext-value names
const PTOKEN = /^[A-Za-z0-9!#$%&'()*+\-./:<=>?@[\]^_`{|}~]+$/; // RFC 6690 ptokenchar
/** Attributes RFC 6690 §3 defines as quoted strings: always quoted when written. */
const QUOTED = new Set(['rt', 'if', 'title', 'anchor', 'rel', 'rev', 'type']);

class Reader {
  pos = 0;
  constructor(readonly s: string) {}
  skipWs(): void {
    while (this.pos < this.s.length && /[ \t\r\n]/.test(this.s[this.pos]!)) this.pos++;
  }
  peek(): string | undefined {
    return this.s[this.pos];
  }
  fail(what: string): never {
    throw badPayload(`link-format: ${what} at offset ${this.pos}`);
  }
}

function readQuoted(r: Reader): string {
  r.pos++; // opening quote
  let out = '';
  for (;;) {
    const c = r.s[r.pos];
    if (c === undefined) r.fail('unterminated quoted string');
    r.pos++;
    if (c === '"') return out;
    if (c === '\\') { // quoted-pair (RFC 7230 §3.2.6)
      const next = r.s[r.pos];
      if (next === undefined) r.fail('unterminated quoted string');
      out += next;
      r.pos++;
    } else {
      out += c;
    }
  }
}

function readUntil(r: Reader, stops: string): string {
  const start = r.pos;
  while (r.pos < r.s.length && !stops.includes(r.s[r.pos]!)) r.pos++;
  return r.s.slice(start, r.pos).trim();
}

/** Parses a link-format document. An empty payload is an empty list. Throws CodecError. */
export function parseLinks(text: string): Link[] {
  const r = new Reader(text);
  const links: Link[] = [];
  r.skipWs();
  if (r.pos >= text.length) return links;
  for (;;) {
    r.skipWs();
    if (r.peek() !== '<') r.fail('expected "<"');
    const close = text.indexOf('>', r.pos);
    if (close < 0) r.fail('unterminated "<"');
    const uri = text.slice(r.pos + 1, close);
    if (/[\s<>"]/.test(uri)) r.fail('invalid character in URI');
    r.pos = close + 1;
    const attributes: Record<string, string | true> = {};
    r.skipWs();
    while (r.peek() === ';') {
      r.pos++;
      const name = readUntil(r, '=;,');
      if (!PARMNAME.test(name)) r.fail(`invalid parameter name "${name.slice(0, 20)}"`);
      let value: string | true = true; // value-less parameter, e.g. ";obs"
      if (r.peek() === '=') {
        r.pos++;
        r.skipWs();
        if (r.peek() === '"') {
          value = readQuoted(r);
        } else {
          value = readUntil(r, ';,');
          if (!PTOKEN.test(value)) r.fail(`invalid value for "${name}"`);
        }
      }
      // RFC 8288 §3: occurrences after the first are ignored
      // (defineProperty so that a "__proto__" parameter stays plain data)
      if (!Object.prototype.hasOwnProperty.call(attributes, name)) {
        Object.defineProperty(attributes, name, { value, enumerable: true, writable: true, configurable: true });
      }
      r.skipWs();
    }
    links.push({ uri, attributes });
    if (r.pos >= text.length) return links;
    if (r.peek() !== ',') r.fail('expected "," or ";"');
    r.pos++;
  }
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

/** Writes links; rt/if/title/... and values that are not ptokens are quoted. */
export function serializeLinks(links: readonly Link[]): string {
  return links.map((link) => {
    if (/[\s<>"]/.test(link.uri)) throw badPayload(`link-format: invalid URI "${link.uri}"`);
    let out = `<${link.uri}>`;
    for (const [name, value] of Object.entries(link.attributes)) {
      if (!PARMNAME.test(name)) throw badPayload(`link-format: invalid parameter name "${name}"`);
      if (value === true) out += `;${name}`;
      else out += `;${name}=${QUOTED.has(name) || !PTOKEN.test(value) ? quote(value) : value}`;
    }
    return out;
  }).join(',');
}

export function decodeLinkFormat(payload: Uint8Array): Link[] {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    throw badPayload('link-format payload is not valid UTF-8');
  }
  return parseLinks(text);
}

export function encodeLinkFormat(links: readonly Link[]): Uint8Array {
  return utf8Encoder.encode(serializeLinks(links));
}
