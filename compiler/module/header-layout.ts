// Byte offsets of the fixed 128-byte header (docs/module-format.md §2). All little-endian.
export const H = {
  magic: 0, // char[4] "TMLM"
  formatVersion: 4, // u16
  headerBytes: 6, // u16, 128 in version 1
  targetCode: 8, // u16
  flags: 10, // u16, 0 in version 1
  arenaBytes: 12, // u32
  opCount: 16, // u32
  constCount: 20, // u32
  tensorCount: 24, // u32
  opsOffset: 28, // u32
  opsBytes: 32, // u32
  constsOffset: 36, // u32
  constsBytes: 40, // u32
  tensorsOffset: 44, // u32
  tensorsBytes: 48, // u32
  digestOffset: 52, // u32: length of everything the digest covers
  macs: 56, // u32 (saturated at 2^32-1)
  inputTensor: 60, // u32
  outputTensor: 64, // u32
  inputRank: 68, // u8
  outputRank: 69, // u8
  metadataBytes: 70, // u16: length of the metadata section right after the tensor table (v2)
  inputDims: 72, // u32[4]
  inputScale: 88, // f32
  inputZeroPoint: 92, // i32
  outputDims: 96, // u32[4]
  outputScale: 112, // f32
  outputZeroPoint: 116, // i32 (ends at 120)
  name: 120, // char[8] UTF-8, NUL padded
} as const;

export const NAME_BYTES = 8;
/** metadata section (v2): u8 nameLength, name, u8 versionLength, version, zero padding to 4 bytes */
export const MAX_METADATA_STRING_BYTES = 255;
/** tensor table record: dtype u8, rank u8, u16 0, offset u32, bytes u32, dims u32[4], scale f32, zeroPoint i32 */
export const TENSOR_RECORD_BYTES = 36;
/**
 * Constant records and their data start on 4-byte boundaries: enough for int32 views, and small
 * per-channel constants do not pay 16-byte padding (it would cost ~10% of a small model's module).
 */
export const CONST_ALIGNMENT = 4;
