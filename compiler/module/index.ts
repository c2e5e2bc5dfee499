export { emitModule, moduleDigestHex } from './emit-module.ts';
export { readModule } from './read-module.ts';
export { emitCHeader, type CHeaderOptions } from './c-header.ts';
export { ModuleError, type ModuleErrorCode } from './module-error.ts';
export * from './module-types.ts';
export { OpCode, OP_NAMES } from './opcodes.ts';
