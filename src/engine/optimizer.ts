/**
 * AdamW on ggml tensors: moment buffers next to the parameters, the update emitted as ggml's
 * `opt_step_adamw` nodes into a static graph, hyper-parameters fed through small input tensors
 * so that the learning rate can change every step without rebuilding anything.
 */
import { ErrorCode, MathtuneError } from "../errors.js";
import type { Context } from "./tensor.js";
import { GgmlType } from "./ffi.js";
import { Tensor, setF32 } from "./tensor.js";

/** AdamW hyper-parameters. */
export interface AdamWOptions {
  /** First-moment decay. Defaults to 0.9. */
  beta1?: number;
  /** Second-moment decay. Defaults to 0.95. */
  beta2?: number;
  /** Denominator guard. Defaults to 1e-8. */
  eps?: number;
  /** Decoupled weight decay, applied to matrices only (not to norm gains). Defaults to 0.1. */
  weightDecay?: number;
}

/** Resolved AdamW hyper-parameters. */
export type AdamWConfig = Required<AdamWOptions>;

/** Fills in the defaults of {@link AdamWOptions}. */
export function adamwConfig(o: AdamWOptions = {}): AdamWConfig {
  const c = { beta1: o.beta1 ?? 0.9, beta2: o.beta2 ?? 0.95, eps: o.eps ?? 1e-8, weightDecay: o.weightDecay ?? 0.1 };
  if (!(c.beta1 >= 0 && c.beta1 < 1) || !(c.beta2 >= 0 && c.beta2 < 1)) throw new MathtuneError(ErrorCode.usage, "AdamW betas must be in [0, 1)");
  if (!(c.eps > 0) || !(c.weightDecay >= 0)) throw new MathtuneError(ErrorCode.usage, "AdamW eps must be > 0 and weight decay >= 0");
  return c;
}

/** One parameter with its optimizer state. */
export interface AdamWSlot {
  name: string;
  param: Tensor;
  m: Tensor;
  v: Tensor;
  /** Weight decay applies (matrices) or not (norm gains and other vectors). */
  decay: boolean;
}

/**
 * Optimizer state for a list of parameters. Create it before the parameter context is allocated
 * (its tensors live in the same buffer).
 */
export class AdamW {
  readonly config: AdamWConfig;
  readonly slots: AdamWSlot[];
  /** [lr, beta1, beta2, eps, wd, 1/(1-beta1^t), 1/(1-beta2^t)] for decayed parameters. */
  private readonly hpDecay: Tensor;
  /** The same with wd = 0. */
  private readonly hpNoDecay: Tensor;
  /** Completed optimizer steps (t in the bias corrections). */
  stepCount = 0;

  constructor(ctx: Context, params: ReadonlyArray<{ name: string; tensor: Tensor }>, options: AdamWOptions = {}) {
    this.config = adamwConfig(options);
    this.slots = params.map(({ name, tensor }) => ({
      name,
      param: tensor,
      m: ctx.newTensor(GgmlType.F32, tensor.shape, `${name}.m`),
      v: ctx.newTensor(GgmlType.F32, tensor.shape, `${name}.v`),
      decay: tensor.shape.length >= 2,
    }));
    this.hpDecay = ctx.newTensor(GgmlType.F32, [7], "adamw.decay");
    this.hpNoDecay = ctx.newTensor(GgmlType.F32, [7], "adamw.nodecay");
  }

  /** Emits the update nodes: one `opt_step_adamw` per parameter with gradient `grads[i]`. */
  emitUpdate(ctx: Context, grads: readonly Tensor[]): Tensor[] {
    if (grads.length !== this.slots.length) throw new MathtuneError(ErrorCode.native, "one gradient per parameter is required");
    return this.slots.map((s, i) => {
      const p = ctx.api.opt_step_adamw(ctx.ptr, s.param.ptr, grads[i].ptr, s.m.ptr, s.v.ptr, (s.decay ? this.hpDecay : this.hpNoDecay).ptr);
      return new Tensor(p, GgmlType.F32);
    });
  }

  /**
   * Writes the hyper-parameters of the next step (t = stepCount + 1) with learning rate `lr`.
   * The bias corrections are computed in double precision, then stored as float.
   */
  prepareStep(lr: number): void {
    if (!Number.isFinite(lr) || lr < 0) throw new MathtuneError(ErrorCode.usage, `learning rate must be finite and >= 0 (got ${lr})`);
    const t = this.stepCount + 1;
    const { beta1, beta2, eps, weightDecay } = this.config;
    const b1h = 1 / (1 - Math.pow(beta1, t));
    const b2h = 1 / (1 - Math.pow(beta2, t));
    setF32(this.hpDecay, Float32Array.of(lr, beta1, beta2, eps, weightDecay, b1h, b2h));
    setF32(this.hpNoDecay, Float32Array.of(lr, beta1, beta2, eps, 0, b1h, b2h));
  }
}
