/**
 * The llama decoder as a ggml graph: token embedding, then per block RMSNorm → multi-head causal
 * self-attention with RoPE (grouped-query when nKvHeads < nHeads) → residual, RMSNorm → SwiGLU MLP
 * → residual; final RMSNorm and the output projection (tied to the embedding or not).
 *
 * It computes exactly what llama.cpp's `llama` and `qwen2` architectures compute for the same GGUF
 * tensors (q/k/v biases, NeoX RoPE for qwen2; linear RoPE scaling and Llama 3 frequency factors),
 * which the golden tests check against node-llama-cpp.
 */
import { ErrorCode, MathtuneError } from "../errors.js";
import { RopeMode, type RopeParams, type Tape } from "../engine/autograd.js";
import type { Tensor } from "../engine/tensor.js";
import { headDim, type LlamaConfig } from "./config.js";
import { LORA_TARGET_TENSOR, loraScale, type LoraSpec, type LoraTarget } from "./lora.js";

/** The parameter tensors of one block, by role. */
export interface BlockTensors {
  attnNorm: Tensor;
  wq: Tensor;
  wk: Tensor;
  wv: Tensor;
  /** q/k/v biases, when the config has them. */
  bq?: Tensor;
  bk?: Tensor;
  bv?: Tensor;
  wo: Tensor;
  ffnNorm: Tensor;
  gate: Tensor;
  up: Tensor;
  down: Tensor;
  /** LoRA adapters of this block's projections, when training or applying one. */
  lora?: Partial<Record<LoraTarget, LoraPair>>;
}

/** One projection's adapter: y = W x + scale · B (A x), as llama.cpp computes it. */
export interface LoraPair {
  /** ne [n_in, rank]. */
  a: Tensor;
  /** ne [rank, n_out]. */
  b: Tensor;
  scale: number;
}

/** Every parameter tensor of the model, by role. */
export interface LlamaTensors {
  tokEmbd: Tensor;
  blocks: BlockTensors[];
  outputNorm: Tensor;
  /** The output projection; the token embedding when the output is tied. */
  output: Tensor;
  /** F32 [headDim/2] RoPE frequency divisors (`rope_freqs.weight`, a constant), when the config has them. */
  ropeFactors?: Tensor;
}

/**
 * Looks up the role tensors from GGUF tensor names. `ropeFactors` is the constant tensor holding
 * config.ropeFactors (required when the config has them).
 */
export function llamaTensors(config: LlamaConfig, byName: (name: string) => Tensor, ropeFactors?: Tensor): LlamaTensors {
  if (config.ropeFactors !== undefined && ropeFactors === undefined) {
    throw new MathtuneError(ErrorCode.native, "the config has RoPE frequency factors but no tensor holds them");
  }
  const blocks: BlockTensors[] = [];
  for (let l = 0; l < config.nLayers; l++) {
    const p = `blk.${l}.`;
    const bias = config.qkvBias ? { bq: byName(`${p}attn_q.bias`), bk: byName(`${p}attn_k.bias`), bv: byName(`${p}attn_v.bias`) } : {};
    blocks.push({
      attnNorm: byName(`${p}attn_norm.weight`),
      wq: byName(`${p}attn_q.weight`),
      wk: byName(`${p}attn_k.weight`),
      wv: byName(`${p}attn_v.weight`),
      ...bias,
      wo: byName(`${p}attn_output.weight`),
      ffnNorm: byName(`${p}ffn_norm.weight`),
      gate: byName(`${p}ffn_gate.weight`),
      up: byName(`${p}ffn_up.weight`),
      down: byName(`${p}ffn_down.weight`),
    });
  }
  const tokEmbd = byName("token_embd.weight");
  return {
    tokEmbd,
    blocks,
    outputNorm: byName("output_norm.weight"),
    output: config.tiedOutput ? tokEmbd : byName("output.weight"),
    ...(ropeFactors ? { ropeFactors } : {}),
  };
}

/** Attaches adapters to the blocks of `w`: A and B looked up by tensor name (see model/lora.ts). */
export function attachLora(w: LlamaTensors, spec: LoraSpec, byName: (name: string) => Tensor): void {
  const scale = loraScale(spec);
  w.blocks.forEach((blk, l) => {
    blk.lora = {};
    for (const t of spec.targets) {
      const base = `blk.${l}.${LORA_TARGET_TENSOR[t]}`;
      blk.lora[t] = { a: byName(`${base}.lora_a`), b: byName(`${base}.lora_b`), scale };
    }
  });
}

/** RoPE as llama.cpp applies it for the architecture (mode, base, linear scale, Llama 3 factors). */
export function ropeParams(config: LlamaConfig, factors: Tensor | undefined): RopeParams {
  return {
    nDims: headDim(config),
    // llama.cpp's llama_model_rope_type: NORM for llama, NEOX for qwen2.
    mode: config.arch === "qwen2" ? RopeMode.neox : RopeMode.normal,
    freqBase: config.ropeFreqBase,
    freqScale: config.ropeFreqScale ?? 1,
    nCtxOrig: config.contextLength,
    factors: factors ?? null,
  };
}

/**
 * Graph inputs of one batch shape: B rows of T tokens, flattened row after row. A row may pack
 * several examples: positions restart at 0 for each, and the mask keeps attention inside each
 * example, so a packed example is computed exactly as it would be alone.
 */
export interface BatchInputs {
  /** I32 [T·B]: token ids, row b at [b·T, (b+1)·T). */
  tokens: Tensor;
  /** I32 [T·B]: position of each token within its example. */
  positions: Tensor;
  /** F32 [T, T, 1, B]: mask[k, q, 0, b] = 0 when query q of row b may see key k (causal, same example), else -inf. */
  mask: Tensor;
  /** Sequence length. */
  seqLen: number;
  /** Sequences per batch. */
  batch: number;
}

/**
 * Final hidden states [dModel, T·B] after the output norm. Every operation goes through `tape`,
 * so gradients flow to the parameters the tape marks.
 */
export function llamaHidden(tape: Tape, config: LlamaConfig, w: LlamaTensors, inp: BatchInputs): Tensor {
  const T = inp.seqLen;
  const B = inp.batch;
  const H = config.nHeads;
  const Hkv = config.nKvHeads;
  const hd = headDim(config);
  const rope = ropeParams(config, w.ropeFactors);
  const kqScale = 1 / Math.sqrt(hd);
  let x = tape.getRows(w.tokEmbd, inp.tokens); // [d, T·B]
  for (const blk of w.blocks) {
    // A projection, plus its adapter's scale · B (A x) when it has one (before the bias, as llama.cpp adds it).
    const proj = (target: LoraTarget, wt: Tensor, v: Tensor): Tensor => {
      const ad = blk.lora?.[target];
      const y = tape.matmul(wt, v);
      return ad ? tape.add(y, tape.scaleBias(tape.matmul(ad.b, tape.matmul(ad.a, v)), ad.scale, 0)) : y;
    };
    // A linear layer with an optional bias (broadcast over tokens).
    const linear = (target: LoraTarget, wt: Tensor, b: Tensor | undefined, v: Tensor): Tensor => (b ? tape.add(proj(target, wt, v), b) : proj(target, wt, v));
    const h = tape.mul(tape.rmsNorm(x, config.rmsEps), blk.attnNorm);
    // Heads split as [hd, heads, T·B]; RoPE rotates each head at its token's position.
    const q = tape.reshape(tape.rope(tape.reshape(linear("q", blk.wq, blk.bq, h), [hd, H, T * B]), inp.positions, rope), [hd, H, T, B]);
    const k = tape.reshape(tape.rope(tape.reshape(linear("k", blk.wk, blk.bk, h), [hd, Hkv, T * B]), inp.positions, rope), [hd, Hkv, T, B]);
    const v = tape.reshape(linear("v", blk.wv, blk.bv, h), [hd, Hkv, T, B]);
    // Scores [Tk, Tq, H, B]. The key side can stay a strided view (ggml's matmul reads its first
    // operand with any row stride); the query side must be contiguous for the fast kernel.
    // With GQA, query head j reads key/value head floor(j / (H / Hkv)), as llama.cpp does.
    const qh = tape.cont(tape.permute(q, [0, 2, 1, 3])); // [hd, T, H, B]
    const kh = tape.permute(k, [0, 2, 1, 3]); // [hd, T, Hkv, B]
    const scores = tape.matmul(kh, qh);
    const probs = tape.softmax(scores, kqScale, inp.mask);
    const vt = tape.cont(tape.permute(v, [1, 2, 0, 3])); // [T, hd, Hkv, B]
    const att = tape.matmul(vt, probs); // [hd, Tq, H, B]
    const merged = tape.reshape(tape.cont(tape.permute(att, [0, 2, 1, 3])), [hd * H, T * B]);
    x = tape.add(x, proj("o", blk.wo, merged));
    const f = tape.mul(tape.rmsNorm(x, config.rmsEps), blk.ffnNorm);
    x = tape.add(x, proj("down", blk.down, tape.swiglu(proj("gate", blk.gate, f), proj("up", blk.up, f))));
  }
  return tape.mul(tape.rmsNorm(x, config.rmsEps), w.outputNorm);
}

/** Logits [vocab, T·B]. */
export function llamaLogits(tape: Tape, config: LlamaConfig, w: LlamaTensors, inp: BatchInputs): Tensor {
  return tape.matmul(w.output, llamaHidden(tape, config, w, inp));
}

/** Inputs of the masked next-token loss. */
export interface LossInputs {
  /** I32 [T·B]: for position i, the flat index i·vocab + (next token) into the log-probabilities. */
  targetIndex: Tensor;
  /** F32 [1, T·B]: 1/n for the n supervised positions of the batch (completion tokens), 0 elsewhere. */
  weight: Tensor;
}

/**
 * Masked mean negative log-likelihood of the next token. ggml's cross-entropy kernel cannot skip
 * rows, so the loss is built from softmax, log and a gather: the log-probability of each target
 * is picked with get_rows on the flattened [1, vocab·N] tensor, weighted, summed and negated.
 * The 1e-30 keeps log() finite when a probability underflows.
 */
export function maskedNll(tape: Tape, logits: Tensor, loss: LossInputs): Tensor {
  const [V, N] = logits.ne;
  const logp = tape.log(tape.scaleBias(tape.softmax(logits), 1, 1e-30));
  const picked = tape.getRows(tape.reshape(logp, [1, V * N]), loss.targetIndex); // [1, N]
  return tape.scaleBias(tape.sum(tape.mul(picked, loss.weight)), -1, 0);
}

/**
 * Matrix-product FLOPs per token of one training step (forward + backward = 3x forward),
 * counting attention over the full sequence as the kernels compute it. Used for GFLOP/s figures.
 */
export function trainFlopsPerToken(config: LlamaConfig, seqLen: number): number {
  const d = config.dModel;
  const hd = headDim(config);
  const kv = hd * config.nKvHeads;
  const q = hd * config.nHeads;
  const perLayer = 2 * (d * q + 2 * d * kv + q * d) + 2 * 3 * d * config.ffnDim + 2 * 2 * seqLen * q;
  return 3 * (config.nLayers * perLayer + 2 * d * config.vocabSize);
}
