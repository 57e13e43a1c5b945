/**
 * GGUF v3 reader and writer in plain TypeScript (no native code), so that checkpoints can be
 * inspected, loaded for fine-tuning and written without touching ggml.
 *
 * Layout (little-endian): magic "GGUF", u32 version, u64 tensor count, u64 metadata count, the
 * metadata key/value pairs, the tensor infos (name, dims in ggml `ne` order, ggml type, offset
 * relative to the data section), padding to `general.alignment` (32 by default), tensor data.
 *
 * The types (gguf-types.ts), the reader (gguf-reader.ts) and the writer (gguf-writer.ts); this
 * module is their one import path.
 */
export { GgufType, GgmlType, ggmlTypeName, ggmlTypeBytes, type GgufArray, type GgufValue, type GgufMetadata, gv, type GgufTensorInfo, type GgufFile, shortestF32, f16ToF32, f32ToF16, f32ToBf16, bf16ToF32, type GgufTensorToWrite, dequantizeQ8_0, quantizeQ8_0 } from "./gguf-types.js";
export { readGguf, metaValue, metaNumber, metaString, metaArray, readTensorBytes, readTensorF32 } from "./gguf-reader.js";
export { writeGguf } from "./gguf-writer.js";
