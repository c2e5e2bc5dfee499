// An LwM2M path as plain data: [] is the root, [3] an object, [3,0] an instance,
// [3,0,1] a resource, [3,0,7,1] a resource instance (LwM2M 1.1 TS Core §7.1).

export type LwM2mPath = readonly number[];

export class PathError extends Error {
  readonly code = 'BAD_PATH';
}

const MAX_ID = 65535; // Object, instance and resource ids are 16-bit (Core §7.1; 65535 is reserved)

/** Parses "/3/0/1" (leading slash optional, trailing slash tolerated). Throws PathError. */
export function parsePath(text: string): LwM2mPath {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === '/') return [];
  const body = trimmed.replace(/^\//, '').replace(/\/$/, '');
  const parts = body.split('/');
  if (parts.length > 4) throw new PathError(`path "${text}" has more than 4 levels`);
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new PathError(`path "${text}": "${p}" is not a number`);
    const n = Number(p);
    if (n >= MAX_ID) throw new PathError(`path "${text}": id ${n} is out of range 0..65534`);
    return n;
  });
}

export function formatPath(path: LwM2mPath): string {
  return '/' + path.join('/');
}

export function isObjectPath(p: LwM2mPath): boolean { return p.length === 1; }
export function isInstancePath(p: LwM2mPath): boolean { return p.length === 2; }
export function isResourcePath(p: LwM2mPath): boolean { return p.length === 3; }
export function isResourceInstancePath(p: LwM2mPath): boolean { return p.length === 4; }

/** True when `inner` equals `outer` or lies below it. */
export function isPrefixOf(outer: LwM2mPath, inner: LwM2mPath): boolean {
  if (outer.length > inner.length) return false;
  return outer.every((id, i) => inner[i] === id);
}

export function pathEquals(a: LwM2mPath, b: LwM2mPath): boolean {
  return a.length === b.length && isPrefixOf(a, b);
}
