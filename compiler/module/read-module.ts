// Parses and verifies a version-1 module. Everything is checked before anything is trusted: magic,
// version, header size, section bounds, the SHA-256 digest, then every record and every operand
// reference. A module that passes can be executed without further bounds checks in the kernels.
import { createHash, timingSafeEqual } from 'node:crypto';
import { CONST_ALIGNMENT, H, TENSOR_RECORD_BYTES } from './header-layout.ts';
import { ModuleError } from './module-error.ts';
import {
  DIGEST_BYTES,
  DTYPE_BYTES,
  FORMAT_VERSION,
  HEADER_BYTES,
  MAX_RANK,
  MODULE_MAGIC,
  type ArenaTensor,
  type ConstantTensor,
  type ModuleContents,
  type ModuleDType,
  type ModuleOp,
} from './module-types.ts';
import { CONV_ADD_CONV_AT, CONV_ADD_FIXED_PARAMS, CONV_FIXED_PARAMS, CONV_POOL_CONV_AT, CONV_POOL_FIXED_PARAMS, FC_FIXED_PARAMS, isOpCode, OP_ARITY, OP_NAMES, OpCode } from './opcodes.ts';
import { requantWords, unpackRequant } from './requant-params.ts';
import { stripSignatureBlock } from './signed-package.ts';

/** no microcontroller has more; a larger value is corruption, not a model */
export const MAX_ARENA_BYTES = 64 * 1024 * 1024;

const DTYPE_BY_CODE: Readonly<Record<number, ModuleDType>> = { 1: 'int8', 2: 'int32' };

function oob(message: string, details?: Record<string, unknown>): never {
  throw new ModuleError('OUT_OF_BOUNDS', message, details);
}

export function readModule(signedOrPlain: Uint8Array): ModuleContents {
  const bytes = stripSignatureBlock(signedOrPlain); // a trailing signature block is not part of the module
  if (bytes.length < HEADER_BYTES + DIGEST_BYTES) {
    throw new ModuleError('TRUNCATED', `module is ${bytes.length} bytes, smaller than header + digest (${HEADER_BYTES + DIGEST_BYTES})`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== MODULE_MAGIC) throw new ModuleError('BAD_MAGIC', `not a TinyMLaaS module (magic ${JSON.stringify(magic)}, expected "${MODULE_MAGIC}")`);
  const version = dv.getUint16(H.formatVersion, true);
  if (version !== FORMAT_VERSION) {
    throw new ModuleError('BAD_VERSION', `module format version ${version} is not supported (this runtime reads version ${FORMAT_VERSION})`, { version });
  }
  const headerBytes = dv.getUint16(H.headerBytes, true);
  if (headerBytes !== HEADER_BYTES) oob(`header size ${headerBytes}, expected ${HEADER_BYTES}`);
  const u32 = (at: number): number => dv.getUint32(at, true);

  const digestOffset = u32(H.digestOffset);
  if (digestOffset + DIGEST_BYTES !== bytes.length) {
    throw new ModuleError('TRUNCATED', `module declares ${digestOffset + DIGEST_BYTES} bytes but has ${bytes.length}`, { declared: digestOffset + DIGEST_BYTES, actual: bytes.length });
  }
  const want = createHash('sha256').update(bytes.subarray(0, digestOffset)).digest();
  const got = bytes.subarray(digestOffset);
  if (!timingSafeEqual(want, got)) {
    throw new ModuleError('BAD_DIGEST', `SHA-256 digest mismatch: module is corrupt or was modified (expected ${Buffer.from(got).toString('hex')}, computed ${want.toString('hex')})`);
  }

  const section = (name: string, off: number, len: number): [number, number] => {
    const start = u32(off);
    const size = u32(len);
    if (start < HEADER_BYTES || start + size > digestOffset) oob(`${name} section [${start}, ${start + size}) outside [${HEADER_BYTES}, ${digestOffset})`);
    return [start, start + size];
  };
  const [opsStart, opsEnd] = section('operator', H.opsOffset, H.opsBytes);
  const [constsStart, constsEnd] = section('constant', H.constsOffset, H.constsBytes);
  const [tensorsStart, tensorsEnd] = section('tensor', H.tensorsOffset, H.tensorsBytes);
  const opCount = u32(H.opCount);
  const constCount = u32(H.constCount);
  const tensorCount = u32(H.tensorCount);
  const arenaBytes = u32(H.arenaBytes);
  if (arenaBytes > MAX_ARENA_BYTES) oob(`arena of ${arenaBytes} bytes exceeds the ${MAX_ARENA_BYTES}-byte limit`);

  // §5 tensor table
  if (tensorsEnd - tensorsStart !== tensorCount * TENSOR_RECORD_BYTES) oob(`tensor section is ${tensorsEnd - tensorsStart} bytes for ${tensorCount} tensors`);
  const tensors: ArenaTensor[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const at = tensorsStart + i * TENSOR_RECORD_BYTES;
    const dtype = DTYPE_BY_CODE[dv.getUint8(at)];
    if (dtype !== 'int8') throw new ModuleError('BAD_OP', `tensor ${i}: arena tensors must be int8`);
    const rank = dv.getUint8(at + 1);
    if (rank > MAX_RANK) oob(`tensor ${i}: rank ${rank} > ${MAX_RANK}`);
    const offset = u32(at + 4);
    const size = u32(at + 8);
    const shape: number[] = [];
    for (let d = 0; d < rank; d++) shape.push(u32(at + 12 + 4 * d));
    const elems = shape.reduce((a, b) => a * b, 1);
    if (elems !== size) oob(`tensor ${i}: ${size} bytes for shape [${shape.join(',')}]`);
    if (offset + size > arenaBytes) oob(`tensor ${i}: [${offset}, ${offset + size}) outside the ${arenaBytes}-byte arena`, { tensor: i, offset, size, arenaBytes });
    const scale = dv.getFloat32(at + 28, true);
    const zeroPoint = dv.getInt32(at + 32, true);
    if (!(scale > 0) || !Number.isFinite(scale)) oob(`tensor ${i}: scale ${scale} is not positive`);
    if (zeroPoint < -128 || zeroPoint > 127) oob(`tensor ${i}: int8 zero point ${zeroPoint}`);
    tensors.push({ dtype, shape, scale, zeroPoint, offset, bytes: size });
  }

  // §4 constants: copy into fresh aligned typed arrays (the input bytes may sit at any offset)
  const constants: ConstantTensor[] = [];
  let at = constsStart;
  for (let i = 0; i < constCount; i++) {
    if (at + 8 > constsEnd) oob(`constant ${i}: record header past the section end`);
    const dtype = DTYPE_BY_CODE[dv.getUint8(at)];
    if (!dtype) oob(`constant ${i}: unknown dtype code ${dv.getUint8(at)}`);
    const rank = dv.getUint8(at + 1);
    const byteLength = u32(at + 4);
    if (at + 8 + 4 * rank > constsEnd) oob(`constant ${i}: dims past the section end`);
    const shape: number[] = [];
    for (let d = 0; d < rank; d++) shape.push(u32(at + 8 + 4 * d));
    const elems = shape.reduce((a, b) => a * b, 1);
    if (elems * DTYPE_BYTES[dtype] !== byteLength) oob(`constant ${i}: ${byteLength} bytes for ${dtype}[${shape.join(',')}]`);
    const dataAt = Math.ceil((at + 8 + 4 * rank) / CONST_ALIGNMENT) * CONST_ALIGNMENT;
    if (dataAt + byteLength > constsEnd) oob(`constant ${i}: data [${dataAt}, ${dataAt + byteLength}) past the section end ${constsEnd}`);
    // copy (not slice: a Node Buffer's slice is a view into a shared pool) so the typed array is aligned
    const raw = new Uint8Array(byteLength);
    raw.set(bytes.subarray(dataAt, dataAt + byteLength));
    const data = dtype === 'int8' ? new Int8Array(raw.buffer) : new Int32Array(raw.buffer);
    constants.push({ dtype, shape, data });
    at = Math.ceil((dataAt + byteLength) / CONST_ALIGNMENT) * CONST_ALIGNMENT;
  }

  // §3 operators
  const ops: ModuleOp[] = [];
  at = opsStart;
  for (let i = 0; i < opCount; i++) {
    if (at + 8 > opsEnd) oob(`op ${i}: record header past the section end`);
    const code = dv.getUint8(at);
    if (!isOpCode(code)) throw new ModuleError('BAD_OP', `op ${i}: unknown op code ${code}`);
    const nIn = dv.getUint8(at + 1);
    const nOut = dv.getUint8(at + 2);
    const nConst = dv.getUint8(at + 3);
    const nParams = dv.getUint16(at + 4, true);
    const end = at + 8 + 4 * (nIn + nOut + nConst + nParams);
    if (end > opsEnd) oob(`op ${i}: operands past the section end`);
    const words = (from: number, n: number): number[] => Array.from({ length: n }, (_, k) => u32(from + 4 * k));
    let p = at + 8;
    const inputs = words(p, nIn); p += 4 * nIn;
    const outputs = words(p, nOut); p += 4 * nOut;
    const consts = words(p, nConst); p += 4 * nConst;
    const params = Array.from({ length: nParams }, (_, k) => dv.getInt32(p + 4 * k, true));
    for (const t of [...inputs, ...outputs]) if (t >= tensorCount) oob(`op ${i} (${OP_NAMES[code]}): tensor ${t} of ${tensorCount}`);
    for (const c of consts) if (c >= constCount) oob(`op ${i} (${OP_NAMES[code]}): constant ${c} of ${constCount}`);
    checkArity(i, code, inputs.length, outputs.length, consts.length, params);
    ops.push({ code, inputs, outputs, consts, params });
    at = end;
  }
  if (at !== opsEnd) oob(`operator section has ${opsEnd - at} trailing bytes`);

  const input = u32(H.inputTensor);
  const output = u32(H.outputTensor);
  if (input >= tensorCount || output >= tensorCount) oob(`input/output tensor (${input}, ${output}) of ${tensorCount}`);
  checkIoHeader(dv, 'input', H.inputRank, H.inputDims, H.inputScale, H.inputZeroPoint, tensors[input]);
  checkIoHeader(dv, 'output', H.outputRank, H.outputDims, H.outputScale, H.outputZeroPoint, tensors[output]);

  const { name, version: modelVersion } = readMetadata(bytes, tensorsEnd, dv.getUint16(H.metadataBytes, true), digestOffset);
  const contents: ModuleContents = {
    formatVersion: version,
    targetCode: dv.getUint16(H.targetCode, true),
    name,
    version: modelVersion,
    arenaBytes,
    macs: u32(H.macs),
    input,
    output,
    ops,
    constants,
    tensors,
  };
  checkShapes(contents);
  return contents;
}

/** §5.1 metadata section: u8 length + UTF-8 name, u8 length + UTF-8 version, zero padding. */
function readMetadata(bytes: Uint8Array, start: number, size: number, digestOffset: number): { name: string; version: string } {
  const end = start + size;
  if (end > digestOffset) oob(`metadata section [${start}, ${end}) past the digest at ${digestOffset}`);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let at = start;
  const str = (what: string): string => {
    if (at >= end) oob(`metadata: ${what} length past the section end`);
    const n = bytes[at];
    if (at + 1 + n > end) oob(`metadata: ${what} of ${n} bytes past the section end`);
    const b = bytes.subarray(at + 1, at + 1 + n);
    at += 1 + n;
    try {
      return decoder.decode(b);
    } catch {
      throw new ModuleError('BAD_OP', `metadata: ${what} is not valid UTF-8`);
    }
  };
  const name = str('name');
  const version = str('version');
  if (end - at > 3 || bytes.subarray(at, end).some((b) => b !== 0)) oob(`metadata section has ${end - at} bytes after the version that are not padding`);
  return { name, version };
}

/** ONNX pool output size; with ceil_mode a last window starting in the end padding is dropped. */
export function poolOutSize(input: number, kernel: number, stride: number, padBegin: number, padEnd: number, ceilMode: boolean): number {
  const span = input + padBegin + padEnd - kernel;
  if (span < 0) return -1;
  let out = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceilMode && (out - 1) * stride >= input + padBegin) out--;
  return out;
}

function checkIoHeader(dv: DataView, what: string, rankAt: number, dimsAt: number, scaleAt: number, zpAt: number, t: ArenaTensor): void {
  const rank = dv.getUint8(rankAt);
  const dims = Array.from({ length: rank }, (_, k) => dv.getUint32(dimsAt + 4 * k, true));
  const same = rank === t.shape.length && dims.every((d, k) => d === t.shape[k]);
  if (!same || dv.getFloat32(scaleAt, true) !== t.scale || dv.getInt32(zpAt, true) !== t.zeroPoint) {
    throw new ModuleError('BAD_OP', `header ${what} [${dims.join(',')}] disagrees with its tensor table entry [${t.shape.join(',')}]`);
  }
}

function checkArity(i: number, code: OpCode, nIn: number, nOut: number, nConst: number, params: readonly number[]): void {
  const [wantIn, wantOut, wantConst, wantParams] = OP_ARITY[code];
  const name = OP_NAMES[code];
  const bad = (msg: string): never => {
    throw new ModuleError('BAD_OP', `op ${i} (${name}): ${msg}`);
  };
  if (nOut !== wantOut) bad(`${nOut} outputs, expected ${wantOut}`);
  if (wantParams >= 0 && params.length !== wantParams) bad(`${params.length} params, expected ${wantParams}`);
  if (code === OpCode.ADD || code === OpCode.MUL) {
    const layout = params[0];
    if (layout === 0 ? nIn !== 2 || nConst !== 0 : layout === 1 || layout === 2 ? nIn !== 1 || nConst !== 1 : true) {
      bad(`operand layout ${layout} with ${nIn} inputs and ${nConst} constants`);
    }
    return;
  }
  if (code === OpCode.CONCATENATION) {
    if (nIn < 1 || nConst !== 0 || params.length !== 2 + 4 * nIn) bad(`${nIn} inputs, ${nConst} constants and ${params.length} params (expected 2 + 4 per input)`);
    return;
  }
  if (nIn !== wantIn) bad(`${nIn} inputs, expected ${wantIn}`);
  if (nConst !== wantConst) bad(`${nConst} constants, expected ${wantConst}`);
}

/** Shape consistency between each op's operands, so kernels can trust the dims they read. */
function checkShapes(m: ModuleContents): void {
  m.ops.forEach((op, i) => {
    const bad = (msg: string): never => {
      throw new ModuleError('BAD_OP', `op ${i} (${OP_NAMES[op.code]}): ${msg}`);
    };
    const x = m.tensors[op.inputs[0]];
    const y = m.tensors[op.outputs[0]];
    const c = (k: number): ConstantTensor => m.constants[op.consts[k]];
    const perChannel = (n: number, fixed: number): void => {
      if (c(0).dtype !== 'int8') bad('weights must be int8');
      if (c(1).dtype !== 'int32' || c(1).data.length !== n) bad(`bias must be int32[${n}]`);
      if (op.params.length !== fixed + requantWords(n)) bad(`${op.params.length} params, expected ${fixed + requantWords(n)} for ${n} channels`);
      const { shift } = unpackRequant(op.params, fixed, n);
      if (shift.some((s) => s < -31 || s > 30)) bad('requantization shift outside [-31, 30]');
    };
    switch (op.code) {
      case OpCode.CONV_2D:
      case OpCode.DEPTHWISE_CONV_2D:
        checkConv(x.shape, y.shape, c(0).shape, op.params.slice(0, CONV_FIXED_PARAMS), op.code === OpCode.DEPTHWISE_CONV_2D, bad);
        perChannel(y.shape[1], CONV_FIXED_PARAMS);
        break;
      case OpCode.CONV_POOL_2D: {
        // the convolution's output [1, C, convH, convW] exists only inside the op
        const [poolKind, hc, wc] = op.params;
        if (poolKind !== 0 && poolKind !== 1) bad(`pool kind ${poolKind}`);
        if (x.shape.length !== 4 || y.shape.length !== 4) bad('expects 4-D NCHW');
        const convOut = [x.shape[0], y.shape[1], hc, wc];
        checkConv(x.shape, convOut, c(0).shape, op.params.slice(CONV_POOL_CONV_AT, CONV_POOL_FIXED_PARAMS), false, bad);
        checkPool(convOut, y.shape, op.params.slice(3, CONV_POOL_CONV_AT), bad);
        perChannel(y.shape[1], CONV_POOL_FIXED_PARAMS);
        break;
      }
      case OpCode.CONV_ADD: {
        const r = m.tensors[op.inputs[1]];
        if (op.params[0] !== 0 && op.params[0] !== 1) bad(`conv side ${op.params[0]}`);
        if (r.shape.length !== y.shape.length || r.shape.some((d, k) => d !== y.shape[k])) bad(`residual [${r.shape.join(',')}] is not the output shape [${y.shape.join(',')}]`);
        checkConv(x.shape, y.shape, c(0).shape, op.params.slice(CONV_ADD_CONV_AT, CONV_ADD_FIXED_PARAMS), false, bad);
        if (x.shape[0] !== 1) bad('batch 1 only');
        perChannel(y.shape[1], CONV_ADD_FIXED_PARAMS);
        break;
      }
      case OpCode.FULLY_CONNECTED: {
        const [o, inner] = c(0).shape;
        if (c(0).shape.length !== 2) bad('weights must be 2-D [out, in]');
        // batch B: the input is B rows of `inner` values, the output B rows of `o`
        if (inner < 1 || o < 1 || x.bytes % inner !== 0 || y.bytes !== (x.bytes / inner) * o) bad(`weights [${o},${inner}] vs input ${x.bytes} / output ${y.bytes} elements`);
        perChannel(o, FC_FIXED_PARAMS);
        break;
      }
      case OpCode.MAX_POOL_2D:
      case OpCode.AVERAGE_POOL_2D:
        checkPool(x.shape, y.shape, op.params, bad);
        break;
      case OpCode.GLOBAL_AVERAGE_POOL:
        if (x.shape.length < 3 || y.bytes !== x.shape[0] * x.shape[1]) bad('output must be [N, C, 1, 1]');
        break;
      case OpCode.SOFTMAX:
        if (x.bytes !== y.bytes) bad('input and output sizes differ');
        if (op.params[1] < 0 || op.params[1] > 31) bad('input left shift outside [0, 31]');
        if (op.params[4] < 1 || x.bytes % op.params[4] !== 0) bad(`row length ${op.params[4]} does not divide ${x.bytes}`);
        break;
      case OpCode.LUT: {
        const [channels, inner] = op.params;
        if (x.bytes !== y.bytes) bad('input and output sizes differ');
        if (c(0).dtype !== 'int8' || c(0).data.length !== channels * 256) bad(`table must be int8[${channels} x 256]`);
        if (channels < 1 || inner < 1 || x.bytes % (channels * inner) !== 0) bad(`${channels} channels of ${inner} do not tile ${x.bytes} elements`);
        break;
      }
      case OpCode.CONCATENATION: {
        const outer = op.params[1];
        let total = 0;
        op.inputs.forEach((t, k) => {
          const block = op.params[2 + 4 * k];
          const shift = op.params[5 + 4 * k];
          if (block < 0 || outer < 1 || m.tensors[t].bytes !== outer * block) bad(`input ${k}: ${m.tensors[t].bytes} bytes for ${outer} blocks of ${block}`);
          if (shift < -31 || shift > 30) bad('requantization shift outside [-31, 30]');
          total += block;
        });
        if (y.bytes !== outer * total) bad(`output of ${y.bytes} bytes, inputs give ${outer * total}`);
        break;
      }
      case OpCode.TRANSPOSE: {
        const rank = op.params[0];
        const perm = op.params.slice(1, 5);
        const dims = op.params.slice(5, 9);
        if (rank < 1 || rank > 4 || rank !== y.shape.length) bad(`rank ${rank} vs output ${y.shape.length}`);
        const seen = new Set(perm);
        if (seen.size !== 4 || perm.some((p, i) => p < 0 || p > 3 || (i >= rank && p !== i))) bad(`perm [${perm.join(',')}] is not a permutation`);
        if (dims.some((d, i) => d < 1 || (i >= rank && d !== 1)) || dims.reduce((a, b) => a * b, 1) !== x.bytes) bad(`input dims [${dims.join(',')}] vs ${x.bytes} bytes`);
        for (let i = 0; i < rank; i++) if (y.shape[i] !== dims[perm[i]]) bad(`output dim ${i} is ${y.shape[i]}, input dim ${perm[i]} is ${dims[perm[i]]}`);
        if (x.scale !== y.scale || x.zeroPoint !== y.zeroPoint) bad('input and output quantization differ');
        break;
      }
      case OpCode.CLAMP:
        if (x.bytes !== y.bytes) bad('input and output sizes differ');
        break;
      case OpCode.ADD:
      case OpCode.MUL: {
        // operands broadcast (numpy rules) to the output shape
        const shapes = op.params[0] === 0
          ? [x.shape, m.tensors[op.inputs[1]].shape]
          : op.params[0] === 1 ? [x.shape, c(0).shape] : [c(0).shape, x.shape];
        if (op.params[0] !== 0 && c(0).dtype !== 'int8') bad('constant operand must be int8');
        for (const s of shapes) {
          if (s.length > y.shape.length) bad('operand rank above output rank');
          const off = y.shape.length - s.length;
          s.forEach((d, k) => { if (d !== 1 && d !== y.shape[off + k]) bad(`operand [${s.join(',')}] does not broadcast to [${y.shape.join(',')}]`); });
        }
        break;
      }
    }
  });
}

/** a convolution from `xs` to `ys` with weights `ws` and the 13 CONV_2D scalars `p` */
function checkConv(xs: readonly number[], ys: readonly number[], ws: readonly number[], p: readonly number[], depthwise: boolean, bad: (msg: string) => never): void {
  if (xs.length !== 4 || ys.length !== 4 || ws.length !== 4) bad('expects 4-D NCHW input/output and OIHW weights');
  const [n, ci, hi, wi] = xs;
  const [n2, co, ho, wo] = ys;
  const [o, wci, kh, kw] = ws;
  const [sh, sw, pt, pl, pb, pr, dh, dw] = p;
  if (n !== n2 || n < 1) bad(`batch ${n} in, ${n2} out`);
  if (o !== co) bad(`weights for ${o} channels, output has ${co}`);
  const groups = p[12];
  if (!depthwise ? groups < 1 || wci * groups !== ci || co % groups !== 0 : wci !== 1 || co % ci !== 0 || groups !== ci) {
    bad(`weight input channels ${wci} x ${groups} groups vs input ${ci}, output ${co}`);
  }
  if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || pt < 0 || pl < 0 || pb < 0 || pr < 0) bad('bad stride/dilation/padding');
  if (ho !== Math.floor((hi + pt + pb - dh * (kh - 1) - 1) / sh) + 1 || wo !== Math.floor((wi + pl + pr - dw * (kw - 1) - 1) / sw) + 1) {
    bad(`output ${ho}x${wo} inconsistent with input ${hi}x${wi}`);
  }
}

/** a MAX/AVERAGE pool from `xs` to `ys` with the 12 pool params `p` */
function checkPool(xs: readonly number[], ys: readonly number[], p: readonly number[], bad: (msg: string) => never): void {
  if (xs.length !== 4 || ys.length !== 4) bad('expects 4-D NCHW');
  const [kh, kw, sh, sw, pt, pl, pb, pr] = p;
  if (kh < 1 || kw < 1 || sh < 1 || sw < 1 || pt < 0 || pl < 0 || pb < 0 || pr < 0) bad('bad window');
  // padding beyond the input would let a hostile module ask for an unbounded window
  if (pt > xs[2] || pb > xs[2] || pl > xs[3] || pr > xs[3]) bad('padding larger than the input');
  if (xs[0] !== 1 || ys[0] !== 1 || xs[1] !== ys[1]) bad('batch/channels mismatch');
  const ceilMode = p[8] !== 0;
  if (ys[2] !== poolOutSize(xs[2], kh, sh, pt, pb, ceilMode) || ys[3] !== poolOutSize(xs[3], kw, sw, pl, pr, ceilMode)) {
    bad('output size inconsistent with window');
  }
}
