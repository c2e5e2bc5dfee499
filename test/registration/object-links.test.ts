// Registration payloads as independent clients send them (LWM2M-NOTES "Object links"; Core
// §6.2.1.1, RFC 6690): parsed with the server's link-format parser, then read into a registration.
import { describe, expect, it } from 'vitest';
import { parseLinks } from '../../src/lwm2m/link-format.ts';
import { ObjectLinksError, readObjectLinks, type ParsedObjectLinks } from '../../src/registration/object-links.ts';

function read(payload: string): ParsedObjectLinks {
  return readObjectLinks(parseLinks(payload));
}

const paths = (p: ParsedObjectLinks): number[][] => p.objectLinks.map((l) => [...l.path]);

describe('object links: the root entry', () => {
  it('may be absent (Leshan demo client, Anjay 1.0)', () => {
    const p = read('</1/0>,</3/0>,</5/0>');
    expect(p.rootPath).toBe('');
    expect(p.contentFormats).toEqual([]);
    expect(paths(p)).toEqual([[1, 0], [3, 0], [5, 0]]);
  });

  it('may carry a single ct=112', () => {
    const p = read('</>;rt="oma.lwm2m";ct=112,</1/0>,</3/0>');
    expect(p.rootPath).toBe('');
    expect(p.contentFormats).toEqual([112]);
    // the root entry itself is not an object link
    expect(paths(p)).toEqual([[1, 0], [3, 0]]);
  });

  it('may carry a quoted, space-separated ct list', () => {
    const p = read('</>;rt="oma.lwm2m";ct="60 110 112 11542 11543",</1/0>,</3/0>');
    expect(p.contentFormats).toEqual([60, 110, 112, 11542, 11543]);
    expect(paths(p)).toEqual([[1, 0], [3, 0]]);
  });

  it('may declare an alternate root path that prefixes every object', () => {
    const p = read('</lwm2m>;rt="oma.lwm2m",</lwm2m/1/0>,</lwm2m/3/0>,</lwm2m/3303/0>,</lwm2m/3303/1>');
    expect(p.rootPath).toBe('/lwm2m');
    expect(paths(p)).toEqual([[1, 0], [3, 0], [3303, 0], [3303, 1]]);
  });

  it('ignores links outside the alternate root', () => {
    const p = read('</lwm2m>;rt="oma.lwm2m";ct=11543,</lwm2m/1/0>,</other/3/0>,</3/0>');
    expect(p.rootPath).toBe('/lwm2m');
    expect(p.contentFormats).toEqual([11543]);
    expect(paths(p)).toEqual([[1, 0]]);
  });

  it('accepts an alternate root written with a trailing slash', () => {
    const p = read('</lwm2m/>;rt="oma.lwm2m",</lwm2m/1/0>');
    expect(p.rootPath).toBe('/lwm2m');
    expect(paths(p)).toEqual([[1, 0]]);
  });

  it('rejects a ct list that is not content-format numbers', () => {
    expect(() => read('</>;rt="oma.lwm2m";ct="110 json",</1/0>')).toThrow(ObjectLinksError);
    expect(() => read('</>;rt="oma.lwm2m";ct="70000",</1/0>')).toThrow(ObjectLinksError);
  });
});

describe('object links: objects, instances and versions', () => {
  it('reads ver= on object links, quoted or not', () => {
    const p = read('</>;rt="oma.lwm2m",</1>;ver=1.1,</1/0>,</3>;ver="1.2",</3/0>,</5>');
    expect(p.objectVersions).toEqual({ 1: '1.1', 3: '1.2' });
    expect(paths(p)).toEqual([[1], [1, 0], [3], [3, 0], [5]]);
  });

  it('takes instances only (no object entries)', () => {
    const p = read('</1/0>,</3/0>,</4/0>,</3303/0>,</3303/7>');
    expect(paths(p)).toEqual([[1, 0], [3, 0], [4, 0], [3303, 0], [3303, 7]]);
    expect(p.objectVersions).toEqual({});
  });

  it('takes the client\'s instance ids (Server object not at /1/0)', () => {
    const p = read('</1/3>,</3/0>');
    expect(paths(p)).toEqual([[1, 3], [3, 0]]);
  });

  it('tolerates whitespace and line breaks between links', () => {
    const p = read('</1/0>, </3/0>,\n  </5/0>');
    expect(paths(p)).toEqual([[1, 0], [3, 0], [5, 0]]);
  });

  it('keeps other attributes of an object link', () => {
    const p = read('</3303/0>;obs;title="Temp"');
    expect(p.objectLinks[0]!.attributes).toEqual({ obs: true, title: 'Temp' });
  });

  it('skips links that are not object or instance paths', () => {
    const p = read('</3/0/1>,</foo>,</3/x>,</1/0>');
    expect(paths(p)).toEqual([[1, 0]]);
  });

  it('rejects ids out of the 16-bit range', () => {
    expect(() => read('</70000/0>')).toThrow(ObjectLinksError);
  });

  it('the link-format parser rejects what is not link format', () => {
    for (const bad of ['1/0,3/0', '</1/0', '</1/0>;', '</1/0>;ct="11', '</1/0> </3/0>']) {
      expect(() => parseLinks(bad), bad).toThrow();
    }
  });
});
