/**
 * A training session on one backend: the model's parameters and AdamW state in one buffer, and
 * three static graphs built once for the batch shape:
 *
 * - micro-step: forward, masked loss, backward, and `grad_acc += grad` for every parameter;
 * - norm: the global gradient norm of the accumulated gradients (for clipping and logging);
 * - update: AdamW on `acc · coef`, where `coef` folds the 1/accumulation average and the clip;
 *
 * plus a forward-only graph (loss and logits) for validation and inference checks. Nothing is
 * rebuilt between steps; each step only writes its inputs and runs graphs.
 *
 * With `lora`, the trained parameters are the adapter matrices (A and B of each targeted
 * projection) and the base model is a constant of the graphs, kept in its stored type: no
 * gradient, accumulator or optimizer state exists for it.
 */
import { ErrorCode, MathtuneError } from "../errors.js";
import { Tape, type MatmulGradMode, type MatmulPrecision } from "../engine/autograd.js";
import type { Backend } from "../engine/backend.js";
import { GgmlType, type GgmlTypeId } from "../engine/ffi.js";
import { StaticGraph, graphBytes, type NodeTiming } from "../engine/graph.js";
import { AdamW, type AdamWOptions } from "../engine/optimizer.js";
import { Context, Tensor, getF32, setBytes, setF32, setI32, zeroTensor } from "../engine/tensor.js";
import { tensorShapes, type StoredTensor, type StoredWeights, type Weights } from "../model/checkpoint.js";
import type { LlamaConfig } from "../model/config.js";
import { attachLora, llamaLogits, llamaTensors, maskedNll, type BatchInputs, type LossInputs } from "../model/llama.js";
import { loraShapes, type LoraSpec } from "../model/lora.js";
import { attentionInputs, type Batch } from "./data.js";

export type { Batch };

/**
 * A training loss other than the built-in masked next-token NLL (e.g. the evaluator's pairwise
 * losses): its own input tensors, a graph over the logits, and how a batch fills its inputs.
 */
export interface SessionLoss {
  /** Creates the loss's input tensors in the session's input context, before it is allocated (at most 32). */
  createInputs(ctx: Context, shape: { seqLen: number; batch: number; vocabSize: number }): void;
  /** The scalar loss from the logits [vocab, T·B]; called for the training and the forward-only graph. */
  build(tape: Tape, logits: Tensor): Tensor;
  /** Writes one batch's loss inputs; called after the session wrote tokens, positions and mask. */
  feed(batch: Batch): void;
}

/** Options of {@link TrainSession}. */
export interface SessionOptions {
  config: LlamaConfig;
  /** Initial weights by GGUF tensor name. */
  weights: Weights;
  /** Sequences per micro-batch. */
  batch: number;
  /** Tokens per sequence. Defaults to config.contextLength. */
  seqLen?: number;
  backend: Backend;
  /** AdamW hyper-parameters (learning rate is given per step). */
  adamw?: AdamWOptions;
  /** Clip the global gradient norm to this value; 0 disables clipping. Defaults to 1. */
  clipNorm?: number;
  /** Micro-batches per optimizer step. Defaults to 1. */
  accumulation?: number;
  /** Weight-gradient strategy of F32 matrix products. Defaults to "out_prod". */
  matmulGrad?: MatmulGradMode;
  /** Operand format of the weight matrix products of training (not of evaluation). Defaults to "f32". */
  precision?: MatmulPrecision;
  /** The training loss. Defaults to the masked next-token NLL on targetIndex / weight. */
  loss?: SessionLoss;
  /**
   * Train a LoRA adapter instead of the model: `weights` then holds the adapter (A and B by tensor
   * name, see model/lora.ts) and `base` the frozen model in its stored types. Defaults to none.
   */
  lora?: { spec: LoraSpec; base: StoredWeights };
}

/** One node of {@link TrainSession.profileStep}. */
export interface StepProfile extends NodeTiming {
  phase: "forward" | "backward" | "accumulate" | "norm" | "optimizer";
}

/** What one optimizer step reports. */
export interface StepReport {
  /** Mean of the micro-batch losses. */
  loss: number;
  /** Global gradient norm before clipping (of the averaged gradient). */
  gradNorm: number;
}

/** A llama model being trained; see the file comment. Call {@link TrainSession.dispose} when done. */
export class TrainSession {
  readonly config: LlamaConfig;
  readonly batch: number;
  readonly seqLen: number;
  readonly accumulation: number;
  readonly clipNorm: number;
  readonly optimizer: AdamW;
  readonly backend: Backend;
  private readonly names: string[];
  private readonly params: Tensor[];
  private readonly acc: Tensor[];
  private readonly inputs: BatchInputs;
  private readonly lossInputs: LossInputs;
  private readonly coef: Tensor;
  private readonly paramCtx: Context;
  private readonly ctxs: Context[] = [];
  private readonly graphs: StaticGraph[] = [];
  private readonly microGraph: StaticGraph;
  private readonly normGraph: StaticGraph;
  private readonly updateGraph: StaticGraph;
  private readonly evalGraph: StaticGraph;
  private readonly microLoss: Tensor;
  private readonly accNodes: Set<bigint>;
  private readonly sumSq: Tensor;
  private readonly evalLoss: Tensor;
  private readonly evalLogits: Tensor;
  private readonly loss: SessionLoss | undefined;
  private readonly defaultPositions: Int32Array;
  private readonly defaultMask: Float32Array;
  /** What the position and mask inputs hold now (skips rewriting identical defaults). */
  private attentionFed: "default" | "batch" | "none" = "none";
  private microInStep = 0;
  private lossSum = 0;
  /** Nodes of the micro-step graph (for reports). */
  readonly microNodes: number;
  /** Bytes of all compute buffers plus the parameter buffer. */
  readonly bufferBytes: number;

  constructor(o: SessionOptions) {
    this.config = o.config;
    this.batch = o.batch;
    this.seqLen = o.seqLen ?? o.config.contextLength;
    this.accumulation = o.accumulation ?? 1;
    this.clipNorm = o.clipNorm ?? 1;
    this.backend = o.backend;
    for (const [k, v] of [["batch", this.batch], ["seqLen", this.seqLen], ["accumulation", this.accumulation]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new MathtuneError(ErrorCode.usage, `${k} must be a positive integer (got ${v})`);
    }
    if (!(this.clipNorm >= 0)) throw new MathtuneError(ErrorCode.usage, `clip norm must be >= 0 (got ${this.clipNorm})`);
    const T = this.seqLen;
    const N = T * this.batch;
    const shapes = o.lora ? loraShapes(o.config, o.lora.spec) : tensorShapes(o.config);
    this.names = shapes.map((s) => s.name);
    const frozenShapes = o.lora ? tensorShapes(o.config) : [];

    // Parameters, optimizer state, gradient accumulators, inputs (and a frozen base) share one backend buffer.
    this.paramCtx = new Context({ maxTensors: shapes.length * 4 + frozenShapes.length + 16 + (o.loss ? 32 : 0) });
    this.loss = o.loss;
    const frozen = frozenShapes.map((s) => {
      const t = o.lora?.base.get(s.name);
      if (!t) throw new MathtuneError(ErrorCode.usage, `base weights lack tensor ${s.name}`);
      return this.paramCtx.newTensor(t.type as GgmlTypeId, s.shape, s.name);
    });
    this.params = shapes.map((s) => this.paramCtx.newTensor(GgmlType.F32, s.shape, s.name));
    // ggml's AdamW kernel only updates tensors flagged as parameters.
    for (const p of this.params) this.paramCtx.api.set_param(p.ptr);
    this.acc = shapes.map((s) => this.paramCtx.newTensor(GgmlType.F32, s.shape, `${s.name}.acc`));
    this.optimizer = new AdamW(this.paramCtx, shapes.map((s, i) => ({ name: s.name, tensor: this.params[i] })), o.adamw);
    this.inputs = {
      tokens: this.paramCtx.newTensor(GgmlType.I32, [N], "tokens"),
      positions: this.paramCtx.newTensor(GgmlType.I32, [N], "positions"),
      mask: this.paramCtx.newTensor(GgmlType.F32, [T, T, 1, this.batch], "kq_mask"),
      seqLen: T,
      batch: this.batch,
    };
    this.lossInputs = {
      targetIndex: this.paramCtx.newTensor(GgmlType.I32, [N], "target_index"),
      weight: this.paramCtx.newTensor(GgmlType.F32, [1, N], "target_weight"),
    };
    const one = this.paramCtx.newTensor(GgmlType.F32, [1], "one");
    // Llama 3 RoPE factors: a constant input of the graphs, neither trained nor saved as a parameter.
    const factors = o.config.ropeFactors;
    const ropeFactors = factors ? this.paramCtx.newTensor(GgmlType.F32, [factors.length], "rope_freqs.weight") : undefined;
    this.coef = this.paramCtx.newTensor(GgmlType.F32, [1], "grad_coef");
    o.loss?.createInputs(this.paramCtx, { seqLen: T, batch: this.batch, vocabSize: o.config.vocabSize });
    this.paramCtx.allocate(o.backend);
    // One example per row unless a batch says otherwise.
    const plain = attentionInputs(new Int32Array(N), T, this.batch);
    this.defaultPositions = plain.positions;
    this.defaultMask = plain.mask;
    setF32(one, Float32Array.of(1));
    if (ropeFactors && factors) setF32(ropeFactors, Float32Array.from(factors));
    if (o.lora) for (const [i, s] of frozenShapes.entries()) setBytes(frozen[i], (o.lora.base.get(s.name) as StoredTensor).read());
    this.setWeights(o.weights);

    const byName = (names: string[], list: Tensor[]) => (name: string): Tensor => {
      const i = names.indexOf(name);
      if (i < 0) throw new MathtuneError(ErrorCode.native, `no tensor ${name}`);
      return list[i];
    };
    const trained = byName(this.names, this.params);
    const roles = llamaTensors(o.config, o.lora ? byName(frozenShapes.map((s) => s.name), frozen) : trained, ropeFactors);
    if (o.lora) attachLora(roles, o.lora.spec, trained);

    // Micro-step graph: forward + backward + accumulate.
    const size = 16384;
    const trainCtx = this.newCtx(size, size);
    const tape = new Tape(trainCtx, o.matmulGrad ?? "out_prod", o.precision ?? "f32");
    for (const p of this.params) tape.param(p);
    const logits = llamaLogits(tape, o.config, roles, this.inputs);
    this.microLoss = o.loss ? o.loss.build(tape, logits) : maskedNll(tape, logits, this.lossInputs);
    const grads = tape.backward(this.microLoss, one, this.params);
    const accUpdates = grads.map((g, i) => {
      if (!g) throw new MathtuneError(ErrorCode.native, `tensor ${this.names[i]} gets no gradient`);
      return new Tensor(trainCtx.api.add_inplace(trainCtx.ptr, this.acc[i].ptr, g.ptr), GgmlType.F32);
    });
    this.accNodes = new Set(accUpdates.map((t) => t.ptr));
    this.microGraph = this.newGraph(trainCtx, [this.microLoss, ...accUpdates], size);
    this.microNodes = this.microGraph.nodes;

    // Norm graph: sum of squares of every accumulator.
    const normCtx = this.newCtx(this.acc.length * 4 + 8, 4096);
    let total: Tensor | null = null;
    for (const a of this.acc) {
      const s = new Tensor(normCtx.api.sum(normCtx.ptr, normCtx.api.sqr(normCtx.ptr, a.ptr)), GgmlType.F32);
      total = total ? new Tensor(normCtx.api.add(normCtx.ptr, total.ptr, s.ptr), GgmlType.F32) : s;
    }
    this.sumSq = total as Tensor;
    this.normGraph = this.newGraph(normCtx, [this.sumSq], 4096);

    // Update graph: AdamW on the scaled accumulators.
    const updCtx = this.newCtx(this.acc.length * 4 + 8, 4096);
    const scaled = this.acc.map((a) => new Tensor(updCtx.api.mul(updCtx.ptr, a.ptr, this.coef.ptr), GgmlType.F32));
    this.updateGraph = this.newGraph(updCtx, this.optimizer.emitUpdate(updCtx, scaled), 4096);

    // Forward-only graph on the same inputs.
    const evalCtx = this.newCtx(size, size);
    const evalTape = new Tape(evalCtx);
    this.evalLogits = llamaLogits(evalTape, o.config, roles, this.inputs);
    this.evalLoss = o.loss ? o.loss.build(evalTape, this.evalLogits) : maskedNll(evalTape, this.evalLogits, this.lossInputs);
    this.evalGraph = this.newGraph(evalCtx, [this.evalLogits, this.evalLoss], size);
    this.bufferBytes = this.paramCtx.allocatedBytes + this.graphs.reduce((a, g) => a + g.computeBytes, 0);
  }

  private newCtx(maxTensors: number, graphSize: number): Context {
    const c = new Context({ maxTensors, extraBytes: graphBytes(graphSize) });
    this.ctxs.push(c);
    return c;
  }

  private newGraph(ctx: Context, outputs: Tensor[], size: number): StaticGraph {
    const g = new StaticGraph(ctx, this.backend, outputs, size);
    this.graphs.push(g);
    return g;
  }

  /** Tokens per micro-batch. */
  get tokensPerBatch(): number {
    return this.seqLen * this.batch;
  }

  private feed(b: Batch, withLoss = true): void {
    const N = this.tokensPerBatch;
    if (b.tokens.length !== N || b.targetIndex.length !== N || b.weight.length !== N) {
      throw new MathtuneError(ErrorCode.native, `batch has ${b.tokens.length} positions, the graph expects ${N}`);
    }
    setI32(this.inputs.tokens, b.tokens);
    setI32(this.lossInputs.targetIndex, b.targetIndex);
    setF32(this.lossInputs.weight, b.weight);
    if (b.positions || b.mask) {
      setI32(this.inputs.positions, b.positions ?? this.defaultPositions);
      setF32(this.inputs.mask, b.mask ?? this.defaultMask);
      this.attentionFed = "batch";
    } else if (this.attentionFed !== "default") {
      setI32(this.inputs.positions, this.defaultPositions);
      setF32(this.inputs.mask, this.defaultMask);
      this.attentionFed = "default";
    }
    if (withLoss) this.loss?.feed(b);
  }

  /** Forward + backward on one micro-batch, adding its gradient to the accumulators. Returns its loss. */
  microStep(b: Batch): number {
    if (this.microInStep >= this.accumulation) {
      throw new MathtuneError(ErrorCode.native, `already ${this.accumulation} micro-batches since the last optimizer step`);
    }
    this.feed(b);
    this.microGraph.compute();
    const loss = getF32(this.microLoss)[0];
    this.microInStep++;
    this.lossSum += loss;
    return loss;
  }

  /** True when the accumulation window is full and {@link step} may run. */
  get readyToStep(): boolean {
    return this.microInStep === this.accumulation;
  }

  /** AdamW update with learning rate `lr` from the accumulated gradients; clears them. */
  step(lr: number): StepReport {
    if (!this.readyToStep) throw new MathtuneError(ErrorCode.native, `${this.microInStep} of ${this.accumulation} micro-batches done; cannot step yet`);
    this.normGraph.compute();
    const gradNorm = Math.sqrt(getF32(this.sumSq)[0]) / this.accumulation;
    let coef = 1 / this.accumulation;
    if (this.clipNorm > 0 && gradNorm > this.clipNorm) coef *= this.clipNorm / gradNorm;
    setF32(this.coef, Float32Array.of(coef));
    this.optimizer.prepareStep(lr);
    if (Number.isFinite(gradNorm)) this.updateGraph.compute();
    this.optimizer.stepCount++;
    for (const a of this.acc) zeroTensor(a);
    const loss = this.lossSum / this.accumulation;
    this.lossSum = 0;
    this.microInStep = 0;
    return { loss, gradNorm };
  }

  /**
   * Times every node of one training step on `b` (micro-step, gradient norm, AdamW update with
   * learning rate `lr`), node by node, fastest of `rounds`. The step really runs (`rounds` times
   * for the micro-step and the norm, once for the update), so the weights change: for benchmarks.
   * Phases: forward (up to the loss), backward, accumulate (adding into the gradient
   * accumulators), norm, optimizer.
   */
  profileStep(b: Batch, lr = 0, rounds = 3): StepProfile[] {
    if (this.microInStep !== 0) throw new MathtuneError(ErrorCode.native, "profileStep() needs a fresh accumulation window");
    this.feed(b);
    const micro = this.microGraph.profile(rounds);
    const lossAt = micro.findIndex((n) => n.ptr === this.microLoss.ptr);
    const out: StepProfile[] = micro.map((n) => ({ ...n, phase: n.index <= lossAt ? "forward" : this.accNodes.has(n.ptr) ? "accumulate" : "backward" }));
    for (const a of this.acc) zeroTensor(a);
    this.microGraph.compute();
    out.push(...this.normGraph.profile(rounds).map((n): StepProfile => ({ ...n, phase: "norm" })));
    this.optimizer.prepareStep(lr);
    setF32(this.coef, Float32Array.of(1));
    out.push(...this.updateGraph.profile(1).map((n): StepProfile => ({ ...n, phase: "optimizer" })));
    this.optimizer.stepCount++;
    for (const a of this.acc) zeroTensor(a);
    return out;
  }

  /** Loss of a batch without touching gradients or weights. */
  lossOf(b: Batch): number {
    this.feed(b);
    this.evalGraph.compute();
    return getF32(this.evalLoss)[0];
  }

  /** Logits [vocab × T·B] (vocab fastest) of a batch of token ids (one example per row unless `attention` says otherwise). */
  logits(tokens: Int32Array, attention: { positions?: Int32Array; mask?: Float32Array } = {}): Float32Array {
    const N = this.tokensPerBatch;
    // Logits do not depend on the loss inputs, so a custom loss is not asked to fill them.
    this.feed({ tokens, targetIndex: new Int32Array(N), weight: new Float32Array(N), supervised: 0, ...attention }, false);
    this.evalGraph.compute();
    return getF32(this.evalLogits);
  }

  /** Copies weights in (every tensor of the config must be present with the right size). */
  setWeights(w: Weights): void {
    this.names.forEach((name, i) => {
      const data = w.get(name);
      if (!data) throw new MathtuneError(ErrorCode.usage, `weights lack tensor ${name}`);
      setF32(this.params[i], data);
    });
  }

  /** Current weights by GGUF name. */
  getWeights(): Weights {
    return new Map(this.names.map((n, i) => [n, getF32(this.params[i])]));
  }

  /**
   * The gradients accumulated since the last optimizer step (sum over micro-batches, unclipped),
   * by parameter name. For checks and diagnostics.
   */
  accumulatedGradients(): Weights {
    return new Map(this.names.map((n, i) => [n, getF32(this.acc[i])]));
  }

  /** AdamW moments by parameter name. */
  getOptimizerState(): { step: number; m: Weights; v: Weights } {
    const m: Weights = new Map();
    const v: Weights = new Map();
    for (const s of this.optimizer.slots) {
      m.set(s.name, getF32(s.m));
      v.set(s.name, getF32(s.v));
    }
    return { step: this.optimizer.stepCount, m, v };
  }

  /** Restores AdamW moments and the step counter. */
  setOptimizerState(state: { step: number; m: Weights; v: Weights }): void {
    for (const s of this.optimizer.slots) {
      const m = state.m.get(s.name);
      const v = state.v.get(s.name);
      if (!m || !v) throw new MathtuneError(ErrorCode.usage, `optimizer state lacks tensor ${s.name}`);
      setF32(s.m, m);
      setF32(s.v, v);
    }
    this.optimizer.stepCount = state.step;
  }

  /** Frees every native buffer and context. */
  dispose(): void {
    for (const g of this.graphs) g.dispose();
    for (const c of this.ctxs) c.dispose();
    this.paramCtx.dispose();
  }
}
