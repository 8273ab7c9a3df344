/** Element types a PyTorch storage can hold (the ones a state_dict of these networks can contain). */
export type StoredDtype =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool';

/** One tensor of a checkpoint. `data` is always float32, row-major and contiguous; `dtype` says what the file stored. */
export interface StoredTensor {
  shape: number[];
  data: Float32Array;
  dtype: StoredDtype;
}

/** Parameter and buffer name → tensor; insertion order is file order. */
export type StateDict = Map<string, StoredTensor>;

/** `state_dict._metadata`: module prefix → small integer fields (PyTorch writes `{ version: n }` per module). */
export type ModuleMetadata = Map<string, Map<string, number>>;
