// Serializes ModuleContents into the version-1 binary (docs/module-format.md):
//   header (128) | operator list | constant tensors | tensor table | SHA-256 of all of the above (32)
import { createHash } from 'node:crypto';
import { CONST_ALIGNMENT, H, MAX_METADATA_STRING_BYTES, NAME_BYTES, TENSOR_RECORD_BYTES } from './header-layout.ts';
import {
  DIGEST_BYTES,
  DTYPE_BYTES,
  DTYPE_CODES,
  FORMAT_VERSION,
  HEADER_BYTES,
  MAX_RANK,
  MODULE_MAGIC,
  type ModuleContents,
} from './module-types.ts';

/** Growable little-endian byte writer. */
class ByteWriter {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void { this.reserve(1); this.view.setUint8(this.length, v); this.length += 1; }
  u16(v: number): void { this.reserve(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  u32(v: number): void { this.reserve(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number): void { this.reserve(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.view.setFloat32(this.length, v, true); this.length += 4; }
  bytes(b: Uint8Array): void { this.reserve(b.length); this.buf.set(b, this.length); this.length += b.length; }
  align(n: number): void { while (this.length % n !== 0) this.u8(0); }
  patchU32(at: number, v: number): void { this.view.setUint32(at, v, true); }
  patchU16(at: number, v: number): void { this.view.setUint16(at, v, true); }
  finish(): Uint8Array { return this.buf.slice(0, this.length); }
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${what} = ${v} does not fit a u32`);
  return v;
}

function checkI32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new RangeError(`${what} = ${v} does not fit an i32`);
  return v;
}

function writeDims(w: ByteWriter, shape: readonly number[], what: string): void {
  if (shape.length > MAX_RANK) throw new RangeError(`${what} has rank ${shape.length} > ${MAX_RANK}`);
  for (let i = 0; i < MAX_RANK; i++) w.u32(i < shape.length ? checkU32(shape[i], `${what} dim`) : 0);
}

function metadataString(s: string, what: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  if (b.length > MAX_METADATA_STRING_BYTES) throw new RangeError(`model ${what} is ${b.length} bytes of UTF-8; at most ${MAX_METADATA_STRING_BYTES}`);
  return b;
}

/** Largest prefix length <= max that does not split a UTF-8 sequence. */
function utf8Cut(b: Uint8Array, max: number): number {
  if (b.length <= max) return b.length;
  let n = max;
  while (n > 0 && (b[n] & 0xc0) === 0x80) n--; // b[n] is a continuation byte: its sequence started before n
  return n;
}

/** Encodes a module. Throws RangeError on contents the format cannot represent. */
export function emitModule(m: ModuleContents): Uint8Array {
  const w = new ByteWriter();
  const input = m.tensors[m.input];
  const output = m.tensors[m.output];
  if (!input || !output) throw new RangeError('module input/output tensor index out of range');

  // §2 header; section offsets are patched once known.
  w.bytes(new TextEncoder().encode(MODULE_MAGIC));
  w.u16(FORMAT_VERSION);
  w.u16(HEADER_BYTES);
  w.u16(m.targetCode);
  w.u16(0);
  w.u32(checkU32(m.arenaBytes, 'arenaBytes'));
  w.u32(m.ops.length);
  w.u32(m.constants.length);
  w.u32(m.tensors.length);
  for (let i = 0; i < 7; i++) w.u32(0); // opsOffset .. digestOffset
  w.u32(Math.min(0xffffffff, Math.round(m.macs)));
  w.u32(m.input);
  w.u32(m.output);
  w.u8(input.shape.length);
  w.u8(output.shape.length);
  w.u16(0); // metadataBytes, patched below
  writeDims(w, input.shape, 'input');
  w.f32(input.scale);
  w.i32(input.zeroPoint);
  writeDims(w, output.shape, 'output');
  w.f32(output.scale);
  w.i32(output.zeroPoint);
  const fullName = metadataString(m.name, 'name');
  const namePadded = new Uint8Array(NAME_BYTES);
  namePadded.set(fullName.subarray(0, utf8Cut(fullName, NAME_BYTES)));
  w.bytes(namePadded);
  if (w.length !== HEADER_BYTES) throw new Error(`header is ${w.length} bytes, expected ${HEADER_BYTES}`);

  // §3 operator list
  const opsOffset = w.length;
  m.ops.forEach((op, i) => {
    const what = `op ${i}`;
    if (op.inputs.length > 255 || op.outputs.length > 255 || op.consts.length > 255 || op.params.length > 0xffff) {
      throw new RangeError(`${what} has too many operands`);
    }
    w.u8(op.code);
    w.u8(op.inputs.length);
    w.u8(op.outputs.length);
    w.u8(op.consts.length);
    w.u16(op.params.length);
    w.u16(0);
    for (const t of op.inputs) w.u32(checkU32(t, `${what} input`));
    for (const t of op.outputs) w.u32(checkU32(t, `${what} output`));
    for (const c of op.consts) w.u32(checkU32(c, `${what} const`));
    for (const p of op.params) w.i32(checkI32(p, `${what} param`));
  });
  const opsBytes = w.length - opsOffset;

  // §4 constant tensors, each record and its data 16-byte aligned
  w.align(CONST_ALIGNMENT);
  const constsOffset = w.length;
  m.constants.forEach((c, i) => {
    const what = `constant ${i}`;
    const elems = c.shape.reduce((a, b) => a * b, 1);
    if (elems !== c.data.length) throw new RangeError(`${what}: shape [${c.shape.join(',')}] vs ${c.data.length} elements`);
    if ((c.dtype === 'int8') !== c.data instanceof Int8Array) throw new RangeError(`${what}: dtype ${c.dtype} vs data`);
    if (c.shape.length > 255) throw new RangeError(`${what}: rank too large`);
    w.u8(DTYPE_CODES[c.dtype]);
    w.u8(c.shape.length);
    w.u16(0);
    w.u32(c.data.length * DTYPE_BYTES[c.dtype]);
    for (const d of c.shape) w.u32(checkU32(d, `${what} dim`));
    w.align(CONST_ALIGNMENT);
    // typed arrays are host-endian; every platform Node runs on is little-endian, as is the format
    w.bytes(new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength));
    w.align(CONST_ALIGNMENT);
  });
  const constsBytes = w.length - constsOffset;

  // §5 tensor table
  const tensorsOffset = w.length;
  m.tensors.forEach((t, i) => {
    const what = `tensor ${i}`;
    w.u8(DTYPE_CODES[t.dtype]);
    w.u8(t.shape.length);
    w.u16(0);
    w.u32(checkU32(t.offset, `${what} offset`));
    w.u32(checkU32(t.bytes, `${what} bytes`));
    writeDims(w, t.shape, what);
    w.f32(t.scale);
    w.i32(checkI32(t.zeroPoint, `${what} zeroPoint`));
  });
  const tensorsBytes = w.length - tensorsOffset;
  if (tensorsBytes !== m.tensors.length * TENSOR_RECORD_BYTES) throw new Error('tensor record size drift');

  // §5.1 metadata: the full name and version (the header's 8-byte name is only a short form)
  const metadataOffset = w.length;
  const version = metadataString(m.version ?? '', 'version');
  w.u8(fullName.length);
  w.bytes(fullName);
  w.u8(version.length);
  w.bytes(version);
  w.align(4);
  w.patchU16(H.metadataBytes, w.length - metadataOffset);

  const digestOffset = w.length;
  w.patchU32(H.opsOffset, opsOffset);
  w.patchU32(H.opsBytes, opsBytes);
  w.patchU32(H.constsOffset, constsOffset);
  w.patchU32(H.constsBytes, constsBytes);
  w.patchU32(H.tensorsOffset, tensorsOffset);
  w.patchU32(H.tensorsBytes, tensorsBytes);
  w.patchU32(H.digestOffset, digestOffset);

  // §6 digest over everything before it
  const body = w.finish();
  const digest = createHash('sha256').update(body).digest();
  const out = new Uint8Array(body.length + DIGEST_BYTES);
  out.set(body);
  out.set(digest, body.length);
  return out;
}

/** Hex SHA-256 of a module's digest field (what the C header comment and reports print). */
export function moduleDigestHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.subarray(bytes.length - DIGEST_BYTES)).toString('hex');
}
