// The decoded shape of the ONNX messages we read (the subset of onnx.proto fields we use), as
// produced by protobufjs `toObject` with TO_OBJECT: int64 fields are decimal strings, bytes are
// Uint8Array, repeated fields are arrays, absent fields are undefined.

export type TensorProto = {
  dims?: string[];
  data_type?: number;
  segment?: unknown;
  float_data?: number[];
  int32_data?: number[];
  string_data?: Uint8Array[];
  int64_data?: string[];
  name?: string;
  raw_data?: Uint8Array;
  external_data?: unknown[];
  data_location?: number;
  double_data?: number[];
  uint64_data?: string[];
};

export type AttributeProto = {
  name?: string;
  type?: number;
  f?: number;
  i?: string;
  s?: Uint8Array;
  t?: TensorProto;
  g?: unknown;
  sparse_tensor?: unknown;
  floats?: number[];
  ints?: string[];
  strings?: Uint8Array[];
  tensors?: TensorProto[];
  graphs?: unknown[];
  ref_attr_name?: string;
};

export type NodeProto = {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: AttributeProto[];
};

export type Dimension = { dim_value?: string; dim_param?: string };

export type TypeProto = {
  tensor_type?: { elem_type?: number; shape?: { dim?: Dimension[] } };
};

export type ValueInfoProto = { name?: string; type?: TypeProto };

export type GraphProto = {
  node?: NodeProto[];
  name?: string;
  initializer?: TensorProto[];
  sparse_initializer?: unknown[];
  input?: ValueInfoProto[];
  output?: ValueInfoProto[];
  value_info?: ValueInfoProto[];
};

export type OperatorSetIdProto = { domain?: string; version?: string };

export type ModelProto = {
  ir_version?: string;
  opset_import?: OperatorSetIdProto[];
  producer_name?: string;
  graph?: GraphProto;
  functions?: unknown[];
};
