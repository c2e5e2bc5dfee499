// CoRE Link Format (40, RFC 6690) as LwM2M registration and Discover use it.
import { describe, expect, it } from 'vitest';
import { CodecError, decodeLinkFormat, encodeLinkFormat, parseLinks, serializeLinks } from '../../src/lwm2m/codec.ts';
import type { Link } from '../../src/lwm2m/codec.ts';
import { ascii, utf8 } from './helpers.ts';

describe('link format (40)', () => {
  it('parses a registration payload with root, versions and a quoted ct list', () => {
    expect(parseLinks('</>;rt="oma.lwm2m";ct="60 110 112 11542 11543",</1/0>,</3>;ver=1.1,</3/0>,</5/0>')).toEqual([
      { uri: '/', attributes: { rt: 'oma.lwm2m', ct: '60 110 112 11542 11543' } },
      { uri: '/1/0', attributes: {} },
      { uri: '/3', attributes: { ver: '1.1' } },
      { uri: '/3/0', attributes: {} },
      { uri: '/5/0', attributes: {} },
    ]);
  });

  it('handles value-less attributes, commas inside quotes, escapes, whitespace and an alternate root', () => {
    expect(parseLinks(' </lwm2m>;rt="oma.lwm2m" , </lwm2m/3/0/1> ; obs ;pmin=10; title="a, \\"b\\"";ct=112\n')).toEqual([
      { uri: '/lwm2m', attributes: { rt: 'oma.lwm2m' } },
      { uri: '/lwm2m/3/0/1', attributes: { obs: true, pmin: '10', title: 'a, "b"', ct: '112' } },
    ]);
    expect(parseLinks('')).toEqual([]);
  });

  it('parses a Discover response (Core §6.2.? example)', () => {
    expect(parseLinks('</3/0>;pmin=10,</3/0/1>,</3/0/2>,</3/0/6>;dim=8,</3/0/7>;dim=8;gt=50;lt=42.2')).toEqual([
      { uri: '/3/0', attributes: { pmin: '10' } },
      { uri: '/3/0/1', attributes: {} },
      { uri: '/3/0/2', attributes: {} },
      { uri: '/3/0/6', attributes: { dim: '8' } },
      { uri: '/3/0/7', attributes: { dim: '8', gt: '50', lt: '42.2' } },
    ]);
  });

  it('serializes with rt quoted and tokens bare', () => {
    const links: Link[] = [{ uri: '/', attributes: { rt: 'oma.lwm2m', ct: '60 110' } }, { uri: '/3/0', attributes: { ver: '1.1', obs: true } }];
    expect(ascii(encodeLinkFormat(links))).toBe('</>;rt="oma.lwm2m";ct="60 110",</3/0>;ver=1.1;obs');
    expect(decodeLinkFormat(utf8(serializeLinks(links)))).toEqual(links);
  });

  it('keeps "__proto__" as a plain attribute', () => {
    const [link] = parseLinks('</3>;__proto__=1');
    expect(Object.getPrototypeOf(link!.attributes)).toBe(Object.prototype);
    expect(Object.keys(link!.attributes)).toEqual(['__proto__']);
  });

  it.each(['/3/0', '<3/0', '</3>;', '</3>;a="x', '</3>;a=b c', '</3> </4>', '</3>,', '</3>;=1'])('rejects %j', (text) => {
    expect(() => parseLinks(text)).toThrow(CodecError);
  });
});
