// Bounds-checked reading and writing of the TLS presentation language (RFC 5246 §4): big-endian
// integers of 1, 2, 3 and 6 bytes and length-prefixed vectors. A read past the end throws
// DecodeError, which the parsers turn into an error value at their boundary.

/**
 * Not an Error on purpose: it never leaves the parsers, and capturing a stack trace for every
 * malformed input would make hostile traffic expensive.
 */
export class DecodeError {
  constructor(readonly message: string) {}
}

export class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  get offset(): number {
    return this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.remaining) throw new DecodeError(`${what}: needs ${n} bytes, ${this.remaining} left`);
  }

  u8(what = 'uint8'): number {
    this.need(1, what);
    return this.buf[this.pos++]!;
  }

  u16(what = 'uint16'): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u24(what = 'uint24'): number {
    this.need(3, what);
    const v = this.buf.readUIntBE(this.pos, 3);
    this.pos += 3;
    return v;
  }

  u48(what = 'uint48'): number {
    this.need(6, what);
    const v = this.buf.readUIntBE(this.pos, 6);
    this.pos += 6;
    return v;
  }

  bytes(n: number, what = 'bytes'): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** opaque x<min..max> with a 1-, 2- or 3-byte length */
  vector(lengthBytes: 1 | 2 | 3, what: string, min = 0, max = Infinity): Buffer {
    const n = lengthBytes === 1 ? this.u8(what) : lengthBytes === 2 ? this.u16(what) : this.u24(what);
    if (n < min || n > max) throw new DecodeError(`${what}: length ${n} outside ${min}..${max}`);
    return this.bytes(n, what);
  }

  rest(): Buffer {
    const v = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return v;
  }

  end(what: string): void {
    if (this.remaining !== 0) throw new DecodeError(`${what}: ${this.remaining} trailing bytes`);
  }
}

export function u8(v: number): Buffer {
  return Buffer.from([v & 0xff]);
}

export function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}

export function u24(v: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntBE(v, 0, 3);
  return b;
}

export function u48(v: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(v, 0, 6);
  return b;
}

export function vec(lengthBytes: 1 | 2 | 3, data: Buffer): Buffer {
  const len = lengthBytes === 1 ? u8(data.length) : lengthBytes === 2 ? u16(data.length) : u24(data.length);
  return Buffer.concat([len, data]);
}
