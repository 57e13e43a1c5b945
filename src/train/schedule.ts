/**
 * Learning-rate schedule: linear warmup from 0, then cosine decay to a floor. A pure function of
 * the step, so a resumed run follows exactly the same curve.
 */
import { ErrorCode, MathtuneError } from "../errors.js";

/** Options of {@link lrAt}. */
export interface ScheduleOptions {
  /** Peak learning rate. */
  lr: number;
  /** Total optimizer steps of the run. */
  steps: number;
  /** Warmup steps (linear ramp from lr/warmup to lr). Defaults to 0. */
  warmup?: number;
  /** Final learning rate as a fraction of the peak. Defaults to 0.1. */
  minLrRatio?: number;
}

/** Checks a schedule once, before training starts. */
export function validateSchedule(o: ScheduleOptions): void {
  if (!(o.lr > 0) || !Number.isFinite(o.lr)) throw new MathtuneError(ErrorCode.usage, `learning rate must be > 0 (got ${o.lr})`);
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new MathtuneError(ErrorCode.usage, `steps must be a positive integer (got ${o.steps})`);
  const w = o.warmup ?? 0;
  if (!Number.isInteger(w) || w < 0) throw new MathtuneError(ErrorCode.usage, `warmup must be a non-negative integer (got ${w})`);
  const r = o.minLrRatio ?? 0.1;
  if (!(r >= 0 && r <= 1)) throw new MathtuneError(ErrorCode.usage, `minLrRatio must be in [0, 1] (got ${r})`);
}

/** Learning rate of optimizer step `step` (1-based). */
export function lrAt(step: number, o: ScheduleOptions): number {
  const warmup = o.warmup ?? 0;
  const floor = o.lr * (o.minLrRatio ?? 0.1);
  if (step <= warmup) return (o.lr * step) / warmup;
  const span = Math.max(1, o.steps - warmup);
  const progress = Math.min(1, (step - warmup) / span);
  return floor + (o.lr - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
}
