// The compiler's version, part of the key a compiled module is cached under (model + target +
// compiler version): raise it whenever the same ONNX model and target would give other bytes
// (a pass, the quantizer, the planner or the module format changes).
export const COMPILER_VERSION = '1.0.0';
