// The library's public surface. Each capability folder adds its exports here.
export { MathtuneError, ErrorCode, inputError } from "./errors.js";
export { Rng, hashString } from "./util/rng.js";
export { readJsonl, readJsonlRaw, writeJsonlAtomic, appendJsonl, repairJsonlTail } from "./util/jsonl.js";
export { writeFileAtomic } from "./util/fs.js";
