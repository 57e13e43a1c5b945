/**
 * SFT data for the static training graph: prompt-completion records tokenized, packed into rows of
 * seqLen+1 tokens (several short examples per row, each opening with BOS when the model uses one),
 * and served as fixed-shape batches whose loss mask covers completion tokens (and the closing EOS)
 * only.
 *
 * The order of rows is a pure function of (seed, epoch), and a stream's position is two integers,
 * so a resumed run sees exactly the batches it would have seen.
 */
import type { SftExample } from "../data/records.js";
import type { Tokenizer } from "../model/tokenizer.js";
import { Rng } from "../util/rng.js";

/** One batch, already tokenized and laid out for the graph (see BatchInputs in model/llama.ts). */
export interface Batch {
  /** I32 [T·B] token ids. */
  tokens: Int32Array;
  /** I32 [T·B] flat log-prob index (position·vocab + next token) of each position. */
  targetIndex: Int32Array;
  /** F32 [T·B]: 1/n on the n supervised positions, 0 elsewhere. */
  weight: Float32Array;
  /** Number of supervised positions (n). */
  supervised: number;
  /** Number of examples with a supervised position (E); set by makeBatch. */
  examples?: number;
  /** I32 [T·B] position of each token within its example. Defaults to 0..T-1 in every row. */
  positions?: Int32Array;
  /** F32 [T, T, 1, B] attention mask (see BatchInputs.mask). Defaults to causal within each row. */
  mask?: Float32Array;
}

/** One example as token ids: BOS (when the tokenizer adds one) + prompt (not supervised), completion + EOS (supervised). */
export interface EncodedExample {
  prompt: number[];
  completion: number[];
  /** Per completion token, whether it carries the loss; absent: all of them do. */
  supervised?: boolean[];
}

/**
 * Tokenizes records (special-token text as special tokens in a record with `special_tokens`, a
 * chat-format record). A record with `loss_spans` is encoded piece by piece at the span edges (so a
 * span is whole tokens: exact for character vocabularies, and for BPE the pieces are tokenized
 * apart), and only the spans' tokens are supervised; without spans the completion and EOS are.
 */
export function encodeExamples(examples: readonly SftExample[], tok: Tokenizer): EncodedExample[] {
  return examples.map((e) => {
    const special = e.special_tokens === true;
    const prompt = [...(tok.addBos ? [tok.bosId] : []), ...tok.encode(e.prompt, special)];
    if (e.loss_spans === undefined) return { prompt, completion: [...tok.encode(e.completion, special), tok.eosId] };
    const completion: number[] = [];
    const supervised: boolean[] = [];
    const piece = (from: number, to: number, sup: boolean): void => {
      if (to <= from) return;
      const ids = tok.encode(e.completion.slice(from, to), special);
      completion.push(...ids);
      for (const _ of ids) supervised.push(sup);
    };
    let at = 0;
    for (const [start, end] of e.loss_spans) {
      if (start < at || end <= start || end > e.completion.length) {
        throw new Error(`loss_spans must be ordered, non-overlapping, non-empty ranges within the completion (got [${start}, ${end}) after ${at}, completion of ${e.completion.length} characters)`);
      }
      piece(at, start, false);
      piece(start, end, true);
      at = end;
    }
    piece(at, e.completion.length, false);
    completion.push(tok.eosId);
    supervised.push(false);
    return { prompt, completion, supervised };
  });
}

/** A packed row: seqLen+1 tokens; per token, whether predicting it is supervised and which example it belongs to. */
export interface Row {
  tokens: number[];
  supervised: boolean[];
  /** Example number within the row (padding gets its own). */
  segment: number[];
}

/** Packing statistics. */
export interface PackStats {
  rows: number;
  /** Examples cut at the row length (their tail is not trained on). */
  truncated: number;
  /** Supervised tokens over all rows. */
  supervisedTokens: number;
}

/**
 * Packs examples (in `order`) greedily into rows of `seqLen + 1` tokens; an example that does not
 * fit in the current row starts a new one, and one longer than a row is cut. Padding is EOS,
 * never supervised.
 */
export function packRows(examples: readonly EncodedExample[], order: readonly number[], seqLen: number, padId: number): { rows: Row[]; stats: PackStats } {
  const width = seqLen + 1;
  const rows: Row[] = [];
  let cur: Row = { tokens: [], supervised: [], segment: [] };
  let seg = 0;
  let truncated = 0;
  const flush = (): void => {
    if (cur.tokens.length === 0) return;
    while (cur.tokens.length < width) {
      cur.tokens.push(padId);
      cur.supervised.push(false);
      cur.segment.push(seg);
    }
    rows.push(cur);
    cur = { tokens: [], supervised: [], segment: [] };
    seg = 0;
  };
  for (const i of order) {
    const e = examples[i];
    let tokens = [...e.prompt, ...e.completion];
    let sup = [...e.prompt.map(() => false), ...(e.supervised ?? e.completion.map(() => true))];
    if (tokens.length > width) {
      truncated++;
      tokens = tokens.slice(0, width);
      sup = sup.slice(0, width);
    }
    if (cur.tokens.length + tokens.length > width) flush();
    cur.tokens.push(...tokens);
    cur.supervised.push(...sup);
    for (let k = 0; k < tokens.length; k++) cur.segment.push(seg);
    seg++;
  }
  flush();
  let supervisedTokens = 0;
  for (const r of rows) for (let t = 1; t < r.supervised.length; t++) if (r.supervised[t]) supervisedTokens++;
  return { rows, stats: { rows: rows.length, truncated, supervisedTokens } };
}

/**
 * Positions and attention mask for rows whose tokens carry example numbers (`segments`, T·B):
 * positions count from 0 at each example's first token; query q of row b sees key k when
 * k <= q and both belong to the same example (mask layout [T, T, 1, B], key fastest).
 */
export function attentionInputs(segments: Int32Array, seqLen: number, batch: number): { positions: Int32Array; mask: Float32Array } {
  const T = seqLen;
  const positions = new Int32Array(T * batch);
  const mask = new Float32Array(T * T * batch).fill(-Infinity);
  for (let b = 0; b < batch; b++) {
    let start = 0;
    for (let q = 0; q < T; q++) {
      const i = b * T + q;
      if (q > 0 && segments[i] !== segments[i - 1]) start = q;
      positions[i] = q - start;
      mask.fill(0, (b * T + q) * T + start, (b * T + q) * T + q + 1);
    }
  }
  return { positions, mask };
}

/**
 * How a batch's loss averages its supervised tokens: `token` gives every supervised token the same
 * weight (1/n over the batch, so long completions dominate); `example` averages each example's
 * tokens first and then the examples (1/(n_e·E)), so a one-word completion (a verification label)
 * counts as much as a whole solution.
 */
export type LossWeighting = "token" | "example";

/** Lays out `rows` (at most `batch`; missing rows are padding) as one graph batch. */
export function makeBatch(rows: readonly Row[], seqLen: number, batch: number, vocabSize: number, padId: number, weighting: LossWeighting = "token"): Batch {
  const N = seqLen * batch;
  const tokens = new Int32Array(N).fill(padId);
  const segments = new Int32Array(N);
  const targetIndex = new Int32Array(N);
  const weight = new Float32Array(N);
  // The example (row·65536 + segment) each supervised position's target token belongs to.
  const example = new Map<number, number>();
  let supervised = 0;
  for (let b = 0; b < batch; b++) {
    const r = rows[b];
    for (let t = 0; t < seqLen; t++) {
      const i = b * seqLen + t;
      const next = r ? r.tokens[t + 1] : padId;
      if (r) {
        tokens[i] = r.tokens[t];
        segments[i] = r.segment[t];
      }
      targetIndex[i] = i * vocabSize + next;
      if (r && r.supervised[t + 1]) {
        weight[i] = 1;
        example.set(i, b * 65536 + r.segment[t + 1]);
        supervised++;
      }
    }
  }
  // Supervised positions per example.
  const count = new Map<number, number>();
  for (const e of example.values()) count.set(e, (count.get(e) ?? 0) + 1);
  if (weighting === "example") {
    for (const [i, e] of example) weight[i] = 1 / (count.get(e)! * count.size);
  } else if (supervised > 0) {
    for (let i = 0; i < N; i++) if (weight[i] !== 0) weight[i] = 1 / supervised;
  }
  return { tokens, targetIndex, weight, supervised, examples: count.size, ...attentionInputs(segments, seqLen, batch) };
}

/** Where a {@link BatchStream} is; saved in checkpoints. */
export interface StreamState {
  epoch: number;
  row: number;
}

/** Endless shuffled batches over the training examples, epoch after epoch. */
export class BatchStream {
  private rows: Row[] = [];
  private rowsEpoch = -1;
  state: StreamState = { epoch: 0, row: 0 };

  constructor(
    private readonly examples: readonly EncodedExample[],
    private readonly seqLen: number,
    private readonly batch: number,
    private readonly vocabSize: number,
    private readonly padId: number,
    private readonly seed: number,
    private readonly weighting: LossWeighting = "token",
  ) {
    if (examples.length === 0) throw new Error("BatchStream needs at least one example");
  }

  private ensureEpoch(): void {
    if (this.rowsEpoch === this.state.epoch) return;
    // Each epoch's order comes from (seed, epoch) alone.
    const rng = new Rng((this.seed * 1000003 + this.state.epoch * 7919) >>> 0);
    const order = rng.shuffle(Array.from({ length: this.examples.length }, (_, i) => i));
    this.rows = packRows(this.examples, order, this.seqLen, this.padId).rows;
    this.rowsEpoch = this.state.epoch;
  }

  /** The next batch (rows continue into the next epoch when one runs out). */
  next(): Batch {
    const picked: Row[] = [];
    while (picked.length < this.batch) {
      this.ensureEpoch();
      if (this.state.row >= this.rows.length) {
        this.state = { epoch: this.state.epoch + 1, row: 0 };
        continue;
      }
      picked.push(this.rows[this.state.row]);
      this.state = { epoch: this.state.epoch, row: this.state.row + 1 };
    }
    return makeBatch(picked, this.seqLen, this.batch, this.vocabSize, this.padId, this.weighting);
  }
}

/** Fixed validation batches: every held-out example once, in file order. */
export function validationBatches(examples: readonly EncodedExample[], seqLen: number, batch: number, vocabSize: number, padId: number, weighting: LossWeighting = "token"): Batch[] {
  const { rows } = packRows(examples, examples.map((_, i) => i), seqLen, padId);
  const out: Batch[] = [];
  for (let i = 0; i < rows.length; i += batch) out.push(makeBatch(rows.slice(i, i + batch), seqLen, batch, vocabSize, padId, weighting));
  return out;
}

/**
 * Splits indices 0..n-1 into train and held-out validation, deterministically from `seed`.
 * With fewer than 10 examples nothing is held out.
 */
export function splitTrainVal(n: number, fraction: number, seed: number): { train: number[]; val: number[] } {
  const idx = new Rng(seed ^ 0x5bd1e995).shuffle(Array.from({ length: n }, (_, i) => i));
  const nVal = n < 10 || fraction <= 0 ? 0 : Math.max(1, Math.round(n * fraction));
  const val = idx.slice(0, nVal).sort((a, b) => a - b);
  const train = idx.slice(nVal).sort((a, b) => a - b);
  return { train, val };
}
