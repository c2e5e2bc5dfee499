// JSON between nodes: server events and DM requests/results carry opaque values as Uint8Array,
// which plain JSON turns into an object of indices, and 64-bit integers past 2^53 as bigint, which
// JSON.stringify refuses. Tagged here as { "$bytes": base64 } and { "$bigint": "decimal" }.
export function toWire(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key]; // before Buffer#toJSON ran
    if (raw instanceof Uint8Array) return { $bytes: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
    if (typeof v === 'bigint') return { $bigint: v.toString() };
    return v;
  });
}

export function fromWire(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o.$bytes === 'string' && Object.keys(o).length === 1) return new Uint8Array(Buffer.from(o.$bytes, 'base64'));
      if (typeof o.$bigint === 'string' && Object.keys(o).length === 1 && /^-?\d{1,40}$/.test(o.$bigint)) return BigInt(o.$bigint);
    }
    return v;
  });
}
