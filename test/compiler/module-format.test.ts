import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { emitCHeader, emitModule, ModuleError, readModule } from '../../compiler/module/index.ts';
import { compileSmall, everyKernelModel } from './helpers/back-end.ts';

const { module, contents } = compileSmall(everyKernelModel());

/** Re-signs a modified module so the check under test is reached, not the digest check. */
function resign(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  const body = out.subarray(0, out.length - 32);
  out.set(createHash('sha256').update(body).digest(), out.length - 32);
  return out;
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (e instanceof ModuleError) return e.code;
    throw e;
  }
  return 'no error';
}

describe('module format v2', () => {
  it('round-trips: readModule(emitModule(c)) == c, and re-emitting gives the same bytes', () => {
    const read = readModule(module);
    expect(read.ops).toEqual(contents.ops);
    expect(read.tensors.map((t) => ({ ...t, scale: Math.fround(t.scale) }))).toEqual(read.tensors);
    expect(read.tensors.map((t) => t.offset)).toEqual(contents.tensors.map((t) => t.offset));
    expect(read.constants.map((c) => Array.from(c.data))).toEqual(contents.constants.map((c) => Array.from(c.data)));
    expect(read.arenaBytes).toBe(contents.arenaBytes);
    expect(read.name).toBe('small');
    expect(emitModule(read)).toEqual(module);
  });

  it('starts with the magic and version, little-endian', () => {
    expect(new TextDecoder().decode(module.subarray(0, 4))).toBe('TMLM');
    expect(module[4] | (module[5] << 8)).toBe(2);
  });

  it('rejects a flipped byte anywhere with BAD_DIGEST', () => {
    for (const at of [10, 200, Math.floor(module.length / 2), module.length - 40, module.length - 1]) {
      const bad = module.slice();
      bad[at] ^= 0x40;
      expect(codeOf(() => readModule(bad))).toBe(at < 4 ? 'BAD_MAGIC' : 'BAD_DIGEST');
    }
  });

  it('gives clear errors for wrong magic, version, truncation and out-of-range offsets', () => {
    const magic = module.slice();
    magic[0] = 0x58;
    expect(codeOf(() => readModule(magic))).toBe('BAD_MAGIC');

    const version = module.slice();
    version[4] = 9;
    expect(codeOf(() => readModule(resign(version)))).toBe('BAD_VERSION');
    expect(() => readModule(resign(version))).toThrow(/version 9 is not supported/);

    expect(codeOf(() => readModule(module.subarray(0, 100)))).toBe('TRUNCATED');
    expect(codeOf(() => readModule(module.subarray(0, module.length - 1)))).toBe('TRUNCATED');

    // shrink the declared arena below the last tensor's end
    const arena = module.slice();
    new DataView(arena.buffer).setUint32(12, 16, true);
    expect(codeOf(() => readModule(resign(arena)))).toBe('OUT_OF_BOUNDS');

    // point the first op at a tensor that does not exist
    const opRef = module.slice();
    const opsOffset = new DataView(opRef.buffer).getUint32(28, true);
    new DataView(opRef.buffer).setUint32(opsOffset + 8, 999, true);
    expect(codeOf(() => readModule(resign(opRef)))).toBe('OUT_OF_BOUNDS');

    // unknown op code
    const opCode = module.slice();
    opCode[opsOffset] = 200;
    expect(codeOf(() => readModule(resign(opCode)))).toBe('BAD_OP');
  });

  it('emits a C header with the bytes, the length and the digest', () => {
    const h = emitCHeader(module, { comment: 'test' });
    expect(h).toContain(`const size_t model_len = ${module.length};`);
    expect(h).toContain('const uint8_t model[] = {');
    expect(h).toContain(`// sha256: ${Buffer.from(module.subarray(module.length - 32)).toString('hex')}`);
    const bytes = [...h.matchAll(/0x([0-9a-f]{2})/g)].map((m) => parseInt(m[1], 16));
    expect(Uint8Array.from(bytes)).toEqual(module);
    expect(() => emitCHeader(module, { symbol: '1bad' })).toThrow(RangeError);
  });

  it('carries the full model name and version in the metadata section after the tensor table (§5.1)', () => {
    const named = emitModule({ ...contents, name: 'fashion-cnn', version: '2026.11-rc1' });
    const dv = new DataView(named.buffer, named.byteOffset, named.byteLength);
    // header: the first 8 bytes of the name, NUL padded (§2 offset 120)
    expect(new TextDecoder().decode(named.subarray(120, 128))).toBe('fashion-');
    // metadata: right after the tensor table, its length in the u16 at offset 70
    const start = dv.getUint32(44, true) + dv.getUint32(48, true);
    const size = dv.getUint16(70, true);
    // written by hand: 11 "fashion-cnn" 11 "2026.11-rc1" is 24 bytes, already a multiple of 4
    const want = [11, ...Buffer.from('fashion-cnn'), 11, ...Buffer.from('2026.11-rc1')];
    expect(size).toBe(want.length);
    expect(Array.from(named.subarray(start, start + size))).toEqual(want);
    const read = readModule(named);
    expect(read.name).toBe('fashion-cnn');
    expect(read.version).toBe('2026.11-rc1');
    expect(emitModule(read)).toEqual(named);
  });

  it('cuts the header name on a UTF-8 boundary and refuses names over 255 bytes', () => {
    const named = emitModule({ ...contents, name: 'modèle-ünïcode' });
    const short = named.subarray(120, 128);
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(short.subarray(0, short.indexOf(0) === -1 ? 8 : short.indexOf(0)))).not.toThrow();
    expect(readModule(named).name).toBe('modèle-ünïcode');
    expect(() => emitModule({ ...contents, name: 'x'.repeat(256) })).toThrow(RangeError);
  });

  it('refuses a metadata section that overruns, is not UTF-8, or has trailing bytes', () => {
    const named = emitModule({ ...contents, name: 'abc', version: 'v1' });
    const dv = new DataView(named.buffer, named.byteOffset, named.byteLength);
    const start = dv.getUint32(44, true) + dv.getUint32(48, true);
    const long = named.slice();
    long[start] = 200; // name length past the section
    expect(codeOf(() => readModule(resign(long)))).toBe('OUT_OF_BOUNDS');
    const size = named.slice();
    new DataView(size.buffer).setUint16(70, 0xfff0, true); // section past the digest
    expect(codeOf(() => readModule(resign(size)))).toBe('OUT_OF_BOUNDS');
    const utf = named.slice();
    utf[start + 1] = 0xff; // 'a' -> an invalid UTF-8 byte
    expect(codeOf(() => readModule(resign(utf)))).toBe('BAD_OP');
    const pad = named.slice();
    pad[start + 1 + 3 + 1 + 2] = 7; // a padding byte that is not 0
    expect(codeOf(() => readModule(resign(pad)))).toBe('OUT_OF_BOUNDS');
  });

  it('emits the full name and version as C string macros', () => {
    const h = emitCHeader(module, { modelName: 'fashion-cnn', modelVersion: 'a"b' });
    expect(h).toContain('#define MODEL_NAME "fashion-cnn"');
    expect(h).toContain('#define MODEL_VERSION "a\\042b"');
  });
});
