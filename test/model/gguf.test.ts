import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import {
  GgmlType,
  GgufType,
  bf16ToF32,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  gv,
  metaValue,
  readGguf,
  readTensorF32,
  writeGguf,
  type GgufMetadata,
} from "../../src/model/gguf.js";
import { MathtuneError } from "../../src/errors.js";
import { tempDir } from "./fixtures.js";

function allTypesMetadata(): GgufMetadata {
  const m: GgufMetadata = new Map();
  m.set("t.u8", { type: GgufType.UINT8, value: 250 });
  m.set("t.i8", { type: GgufType.INT8, value: -100 });
  m.set("t.u16", { type: GgufType.UINT16, value: 65000 });
  m.set("t.i16", { type: GgufType.INT16, value: -32000 });
  m.set("t.u32", gv.u32(4_000_000_000));
  m.set("t.i32", gv.i32(-2_000_000_000));
  m.set("t.f32", gv.f32(1e-5));
  m.set("t.f64", { type: GgufType.FLOAT64, value: Math.PI });
  m.set("t.u64", gv.u64(2n ** 60n));
  m.set("t.i64", { type: GgufType.INT64, value: -(2n ** 50n) });
  m.set("t.bool", gv.bool(true));
  m.set("t.str", gv.str("héllo ▁ 😀"));
  m.set("t.arr.str", gv.arr(GgufType.STRING, ["a", "", "<0x0A>", "▁"]));
  m.set("t.arr.i32", gv.arr(GgufType.INT32, [1, -2, 3]));
  m.set("t.arr.f32", gv.arr(GgufType.FLOAT32, [0.5, -1.25]));
  m.set("t.arr.empty", gv.arr(GgufType.UINT8, []));
  return m;
}

test("metadata of every value type and tensors round-trip through write/read", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "m.gguf");
    const a = Float32Array.from({ length: 12 }, (_, i) => i * 0.25 - 1);
    const b = Float32Array.from({ length: 5 }, (_, i) => -i);
    await writeGguf(path, allTypesMetadata(), [
      { name: "a", shape: [4, 3], data: a },
      { name: "b", shape: [5], data: b },
    ]);
    const f = readGguf(path);
    assert.equal(f.version, 3);
    assert.equal(f.alignment, 32);
    assert.deepEqual([...f.metadata.keys()], [...allTypesMetadata().keys()]);
    for (const [k, v] of allTypesMetadata()) assert.deepEqual(f.metadata.get(k), v, k);
    assert.equal(metaValue(f.metadata, "t.u64"), 2n ** 60n, "unsafe 64-bit ints stay bigint");
    assert.equal(metaValue(f.metadata, "t.u32"), 4_000_000_000);
    assert.deepEqual(
      f.tensors.map((t) => [t.name, t.shape, t.type]),
      [
        ["a", [4, 3], GgmlType.F32],
        ["b", [5], GgmlType.F32],
      ],
    );
    for (const t of f.tensors) assert.equal((f.dataOffset + t.offset) % 32, 0);
    assert.deepEqual(readTensorF32(f, "a"), a);
    assert.deepEqual(readTensorF32(f, "b"), b);
    assert.equal(readdirSync(dir).length, 1, "no temp file left behind");
  } finally {
    cleanup();
  }
});

test("a custom general.alignment is honoured", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "m.gguf");
    const x = Float32Array.from([1, 2, 3]);
    await writeGguf(path, new Map(), [{ name: "x", shape: [3], data: x }, { name: "y", shape: [3], data: x }], { alignment: 64 });
    const f = readGguf(path);
    assert.equal(f.alignment, 64);
    assert.equal(f.dataOffset % 64, 0);
    assert.equal(f.tensors[1].offset, 64);
    assert.deepEqual(readTensorF32(f, "y"), x);
  } finally {
    cleanup();
  }
});

test("F16 and BF16 tensors are converted to F32 on read", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "h.gguf");
    const data = Float32Array.from([0, -0, 1, -2.5, 65504, 1e-7, 3.140625, 1e5]);
    await writeGguf(path, new Map(), [
      { name: "h", shape: [8], data, type: GgmlType.F16 },
      { name: "b", shape: [8], data, type: GgmlType.BF16 },
    ]);
    const f = readGguf(path);
    assert.equal(f.tensors[0].bytes, 16);
    const h = readTensorF32(f, "h");
    const bf = readTensorF32(f, "b");
    assert.deepEqual(Array.from(h.slice(0, 5)), [0, -0, 1, -2.5, 65504]);
    assert.ok(Math.abs(h[5] - 1e-7) < 6e-8, "subnormal half");
    assert.equal(h[6], 3.140625);
    assert.equal(h[7], Infinity, "overflow → inf");
    assert.deepEqual(Array.from(bf.slice(0, 4)), [0, -0, 1, -2.5]);
    assert.ok(Math.abs(bf[7] - 1e5) / 1e5 < 1 / 128);
  } finally {
    cleanup();
  }
});

test("half conversions: exact for every half value, round to nearest", () => {
  for (let h = 0; h < 0x10000; h++) {
    const x = f16ToF32(h);
    if (Number.isNaN(x)) assert.ok(Number.isNaN(f16ToF32(f32ToF16(x))));
    else assert.equal(f32ToF16(x), h, `half 0x${h.toString(16)}`);
  }
  fc.assert(
    fc.property(fc.float({ min: -60000, max: 60000, noNaN: true }), (x) => {
      const y = f16ToF32(f32ToF16(x));
      // within half an ulp of the half format (relative 2^-11, or the subnormal step)
      return Math.abs(y - x) <= Math.max(Math.abs(x) * 2 ** -11, 2 ** -25);
    }),
  );
  fc.assert(
    fc.property(fc.float({ noNaN: true, noDefaultInfinity: true, min: Math.fround(-1e30), max: Math.fround(1e30) }), (x) => {
      const y = bf16ToF32(f32ToBf16(x));
      return Math.abs(y - x) <= Math.max(Math.abs(x) * 2 ** -8, 2 ** -133);
    }),
  );
});

test("reading a quantized tensor names the type and the tensor", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "q.gguf");
    await writeGguf(path, new Map(), [{ name: "w", shape: [32], data: new Float32Array(32) }]);
    // Rewrite the type field (u32 right after the dims) as Q4_0 and cut the data to its block size.
    const buf = readFileSync(path);
    const f = readGguf(path);
    const nameBytes = Buffer.from("w");
    const typePos = buf.indexOf(nameBytes, 24) + nameBytes.length + 4 + 8;
    buf.writeUInt32LE(GgmlType.Q4_0, typePos);
    writeFileSync(path, buf.subarray(0, f.dataOffset + 18));
    const g = readGguf(path);
    assert.equal(g.tensors[0].type, GgmlType.Q4_0);
    assert.throws(() => readTensorF32(g, "w"), (e: unknown) => e instanceof MathtuneError && e.code === "E_GGUF" && /tensor w has type Q4_0/.test(e.message));
  } finally {
    cleanup();
  }
});

test("Q8_0 tensors: written as llama.cpp's blocks (F16 scale + 32 int8), read back within about half a step", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "q8.gguf");
    const data = Float32Array.from({ length: 96 }, (_, i) => Math.sin(i * 0.7) * (i < 32 ? 0.01 : i < 64 ? 3 : 0));
    await writeGguf(path, new Map(), [{ name: "w", shape: [32, 3], data, type: GgmlType.Q8_0 }]);
    const g = readGguf(path);
    assert.equal(g.tensors[0].type, GgmlType.Q8_0);
    assert.equal(g.tensors[0].bytes, 3 * 34);
    const back = readTensorF32(g, "w");
    for (let b = 0; b < 3; b++) {
      const block = data.subarray(b * 32, b * 32 + 32);
      // Half a quantization step, plus the F16 rounding of the scale times up to 127.
      const step = Math.max(...block.map(Math.abs)) / 127;
      for (let i = 0; i < 32; i++) assert.ok(Math.abs(back[b * 32 + i] - block[i]) <= step * 0.6 + 1e-9, `block ${b} value ${i}`);
    }
    assert.ok(back.subarray(64).every((x) => x === 0), "an all-zero block stays zero");
    await assert.rejects(writeGguf(path, new Map(), [{ name: "w", shape: [16, 2], data: new Float32Array(32), type: GgmlType.Q8_0 }]), /multiple of 32/);
  } finally {
    cleanup();
  }
});

test("missing, non-GGUF and truncated files give E_GGUF errors", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const isGguf = (re: RegExp) => (e: unknown) => e instanceof MathtuneError && e.code === "E_GGUF" && re.test(e.message);
    assert.throws(() => readGguf(join(dir, "nope.gguf")), isGguf(/cannot open/));
    assert.throws(() => readGguf(dir), isGguf(/not a file/));
    const txt = join(dir, "x.gguf");
    writeFileSync(txt, "this is not a model at all");
    assert.throws(() => readGguf(txt), isGguf(/not a GGUF file \(bad magic/));
    writeFileSync(txt, "GG");
    assert.throws(() => readGguf(txt), isGguf(/not a GGUF file/));
    const path = join(dir, "t.gguf");
    await writeGguf(path, allTypesMetadata(), [{ name: "a", shape: [64], data: new Float32Array(64) }]);
    const full = readFileSync(path);
    for (const cut of [10, 30, 200, full.length - 100, full.length - 1]) {
      writeFileSync(path, full.subarray(0, cut));
      assert.throws(() => readGguf(path), isGguf(/truncated/), `cut at ${cut}`);
    }
    assert.ok(existsSync(path));
  } finally {
    cleanup();
  }
});

test("a header larger than the writer's first buffer (a 32k-token vocabulary) round-trips", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, "big.gguf");
    const tokens = Array.from({ length: 32000 }, (_, i) => `tok_${i}_${"x".repeat(i % 7)}`);
    const scores = Array.from({ length: 32000 }, (_, i) => -i / 1000);
    const m: GgufMetadata = new Map();
    m.set("tokenizer.ggml.tokens", gv.arr(GgufType.STRING, tokens));
    m.set("tokenizer.ggml.scores", gv.arr(GgufType.FLOAT32, scores));
    m.set("after.big", gv.u32(7));
    await writeGguf(path, m, [{ name: "w", shape: [3], data: Float32Array.of(1, 2, 3) }]);
    const f = readGguf(path);
    const back = f.metadata.get("tokenizer.ggml.tokens")?.value as { items: string[] };
    assert.deepEqual(back.items, tokens);
    assert.equal(metaValue(f.metadata, "after.big"), 7);
    assert.deepEqual(readTensorF32(f, "w"), Float32Array.of(1, 2, 3));
  } finally {
    cleanup();
  }
});
