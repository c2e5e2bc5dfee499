// Reads the registration payload's links (Core §6.2.1.1, RFC 6690) into what the server needs:
// the alternate root path, the content formats declared with ct=, objects, instances and versions.
import type { LinkAttributes, ObjectLinkEntry } from './registration.ts';

export type Link = { readonly uri: string; readonly attributes: LinkAttributes };

export type ParsedObjectLinks = {
  rootPath: string;
  contentFormats: number[];
  objectLinks: ObjectLinkEntry[];
  objectVersions: Record<number, string>;
};

export class ObjectLinksError extends Error {}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

export function readObjectLinks(links: readonly Link[]): ParsedObjectLinks {
  let rootPath = '';
  let contentFormats: number[] = [];
  const root = links.find((l) => typeof l.attributes.rt === 'string' && unquote(l.attributes.rt) === 'oma.lwm2m');
  if (root) {
    rootPath = root.uri === '/' ? '' : root.uri.replace(/\/$/, '');
    const ct = root.attributes.ct;
    if (typeof ct === 'string') {
      // ct=112 or ct="60 110 112 11542 11543" (Core §6.2.1.1; a quoted list is the 1.1 form)
      contentFormats = unquote(ct).split(/\s+/).filter((s) => s !== '').map(Number);
      if (contentFormats.some((n) => !Number.isInteger(n) || n < 0 || n > 65535)) {
        throw new ObjectLinksError(`ct="${ct}" is not a list of content-format numbers`);
      }
    }
  }
  const objectLinks: ObjectLinkEntry[] = [];
  const objectVersions: Record<number, string> = {};
  for (const link of links) {
    if (link === root) continue;
    let uri = link.uri;
    if (rootPath !== '') {
      if (!uri.startsWith(rootPath + '/')) continue; // not below the LwM2M root: not ours to manage
      uri = uri.slice(rootPath.length);
    }
    const parts = uri.replace(/^\//, '').replace(/\/$/, '').split('/');
    if (parts.length === 0 || parts.length > 2 || parts.some((p) => !/^\d+$/.test(p))) continue;
    const path = parts.map(Number);
    if (path.some((n) => n > 65534)) throw new ObjectLinksError(`link <${link.uri}> has an id out of range`);
    objectLinks.push({ path, attributes: link.attributes });
    const ver = link.attributes.ver;
    if (path.length === 1 && typeof ver === 'string') objectVersions[path[0]!] = unquote(ver);
  }
  return { rootPath, contentFormats, objectLinks, objectVersions };
}
