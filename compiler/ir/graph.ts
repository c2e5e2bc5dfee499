// The compiler's intermediate representation: a plain, topologically ordered dataflow graph.
// ONNX import produces it, passes rewrite it, quantization annotates it, the emitter serializes it.

export type DType = 'float32' | 'int8' | 'int32' | 'int64' | 'uint8' | 'bool';

export type Shape = readonly number[];

/** A constant tensor (an ONNX initializer, or a folded constant). Row-major. */
export type ConstTensor = {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
  readonly data: Float32Array | Int8Array | Int32Array | BigInt64Array | Uint8Array;
};

/** Per-tensor or per-axis affine quantization: real = scale * (q - zeroPoint) (TFLite Micro scheme). */
export type Quantization = {
  readonly scale: readonly number[];
  readonly zeroPoint: readonly number[];
  /** the channel axis when per-channel, absent when per-tensor */
  readonly axis?: number;
};

/** A value flowing through the graph: graph input, intermediate or graph output. */
export type ValueInfo = {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
  quant?: Quantization;
};

export type AttrValue = number | string | readonly number[] | readonly string[] | ConstTensor;

export type Node = {
  readonly name: string;
  readonly op: string;
  readonly inputs: readonly string[]; // '' marks an omitted optional input (ONNX convention)
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
};

export type Graph = {
  readonly name: string;
  readonly opset: number;
  readonly nodes: Node[];
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  readonly initializers: Map<string, ConstTensor>;
  /** shapes and dtypes of every value, after shape inference */
  readonly values: Map<string, ValueInfo>;
};
