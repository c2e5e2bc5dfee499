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

describe('module format v1', () => {
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
    expect(module[4] | (module[5] << 8)).toBe(1);
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
});
