/**
 * The synthetic math world: problems with exact answers over several skills and five levels,
 * each with a terse and a detailed solution, drawn deterministically from a seed into
 * train / validation / test splits that share no problem text.
 *
 * Every item is checked when drawn: both solutions end in a `\boxed{}` whose value (parsed by the
 * world's own narrow parser) equals the exact answer, every character is in ALPHABET, and the
 * problem plus its detailed solution fits in `maxChars`. A failed check is a bug in a generator,
 * so it throws instead of being skipped.
 */
import { Rng, hashString } from "../../util/rng.js";
import { MathtuneError, ErrorCode } from "../../errors.js";
import type { Problem } from "../records.js";
import { Rational, parseRationalLatex } from "../rational.js";
import { findLastBoxed } from "../boxed.js";
import { GENERATORS, SKILLS, LEVELS, Redraw, type Skill, type Level } from "./skills.js";

export { SKILLS, LEVELS, type Skill, type Level } from "./skills.js";

/** Which solution a world's problem records carry. */
export type SynthStyle = "terse" | "detailed";
export const SYNTH_STYLES: readonly SynthStyle[] = ["terse", "detailed"];

/** The split names, in the order they are drawn (so the test set does not depend on `n`). */
export const SPLITS = ["test", "validation", "train"] as const;
export type SplitName = (typeof SPLITS)[number];

/**
 * Every character the world can emit, in problems, answers and both solution styles (newline
 * included). A character-level tokenizer built on this set never needs its byte fallback here.
 */
export const ALPHABET =
  "\n ()*+,-./0123456789:<=?ABCDEFHMST\\^abcdefghiklmnopqrstuvwxy{}";

/** One drawn, checked problem with both solutions. */
export interface SynthItem {
  /** `synth/<split>/<index>`. */
  id: string;
  skill: Skill;
  level: Level;
  problem: string;
  /** Canonical LaTeX of the exact answer: `7`, `\frac{7}{3}`, `-\frac{1}{2}`. */
  answer: string;
  /** The exact answer. */
  value: Rational;
  terse: string;
  detailed: string;
  /**
   * Wrong solutions of the checkable skills (an honestly wrong guess, or a slip carried through),
   * each boxing a value other than the answer; empty for the other skills. Not part of the
   * problem records: they label the verification corpus (`mathtune data synth --verification`).
   */
  negatives: string[];
}

export interface SynthOptions {
  /** Training problems. */
  n: number;
  /** Validation problems. Defaults to ceil(n / 10). */
  validation?: number;
  /** Test problems. Defaults to ceil(n / 10). */
  test?: number;
  /** Seed of every draw. Defaults to 0. */
  seed?: number;
  /** Levels to draw, cycled evenly. Defaults to 1..5. */
  levels?: readonly Level[];
  /** Skills to draw, cycled evenly. Defaults to all of SKILLS. */
  skills?: readonly Skill[];
  /** Longest allowed problem + newline + detailed solution, in characters. Defaults to 320. */
  maxChars?: number;
}

/** The three splits of a world. */
export interface SynthWorld {
  train: SynthItem[];
  validation: SynthItem[];
  test: SynthItem[];
}

/** Draws per item before giving up on a (skill, level) cell. */
const MAX_ATTEMPTS = 2000;

/** The world's self-check of one item; throws on any violation (a generator bug). */
export function checkSynthItem(item: SynthItem, maxChars = Infinity): void {
  const fail = (why: string): never => {
    throw new Error(`synthetic world self-check failed for ${item.skill} level ${item.level} "${item.problem}": ${why}`);
  };
  const parsedAnswer = parseRationalLatex(item.answer);
  if (!parsedAnswer || !parsedAnswer.equals(item.value)) fail(`answer ${item.answer} does not parse to ${item.value}`);
  if (item.value.toLatex() !== item.answer) fail(`answer ${item.answer} is not canonical`);
  for (const style of SYNTH_STYLES) {
    const text = item[style];
    const box = findLastBoxed(text);
    if (!box) return fail(`${style} solution has no \\boxed{}`);
    if (box.end !== text.length || !text.slice(0, box.start).endsWith("\n")) fail(`${style} solution does not end with a boxed line`);
    const v = parseRationalLatex(box.content);
    if (!v) return fail(`${style} boxed answer "${box.content}" does not parse`);
    if (!v.equals(item.value)) fail(`${style} boxed ${box.content} != answer ${item.answer}`);
    if (/\n\n|^\n|[ \t]\n/.test(text)) fail(`${style} solution has an empty line or trailing space`);
  }
  for (const [i, text] of item.negatives.entries()) {
    const box = findLastBoxed(text);
    const v = box ? parseRationalLatex(box.content) : null;
    if (!box || box.end !== text.length || !v) fail(`negative ${i} does not end with a parsable boxed line`);
    if (v?.equals(item.value)) fail(`negative ${i} boxes the right answer`);
  }
  for (const text of [item.problem, item.answer, item.terse, item.detailed, ...item.negatives]) {
    for (const ch of text) if (!ALPHABET.includes(ch)) fail(`character ${JSON.stringify(ch)} is outside ALPHABET`);
  }
  if (item.problem.length + 1 + item.detailed.length > maxChars) fail(`longer than ${maxChars} characters`);
}

/**
 * Draws one checked item of a skill and level from `rng`, skipping draws the generator rejects,
 * draws longer than `maxChars` and problem texts in `seen`. Returns null after MAX_ATTEMPTS.
 */
export function drawSynthItem(
  rng: Rng,
  skill: Skill,
  level: Level,
  id: string,
  maxChars = 320,
  seen: ReadonlySet<string> = new Set(),
): SynthItem | null {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let draft;
    try {
      draft = GENERATORS[skill](rng, level);
    } catch (err) {
      if (err instanceof Redraw) continue;
      throw err;
    }
    if (seen.has(draft.problem)) continue;
    if (draft.problem.length + 1 + draft.detailed.length > maxChars) continue;
    const item: SynthItem = {
      id,
      skill,
      level,
      problem: draft.problem,
      answer: draft.answer.toLatex(),
      value: draft.answer,
      terse: draft.terse,
      detailed: draft.detailed,
      negatives: draft.negatives ?? [],
    };
    checkSynthItem(item, maxChars);
    return item;
  }
  return null;
}

/** Draws the three splits. Deterministic in (options); the test split depends only on seed, test size, levels, skills. */
export function synthesizeWorld(options: SynthOptions): SynthWorld {
  const n = options.n;
  const sizes: Record<SplitName, number> = {
    train: n,
    validation: options.validation ?? Math.ceil(n / 10),
    test: options.test ?? Math.ceil(n / 10),
  };
  for (const [k, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 0) throw new MathtuneError(ErrorCode.usage, `${k} size must be a non-negative integer, got ${v}`);
  }
  const seed = options.seed ?? 0;
  const levels = options.levels ?? LEVELS;
  const skills = options.skills ?? SKILLS;
  const maxChars = options.maxChars ?? 320;
  if (levels.length === 0 || skills.length === 0) throw new MathtuneError(ErrorCode.usage, "at least one level and one skill are needed");
  const cells: Array<[Skill, Level]> = [];
  for (const s of skills) for (const l of levels) cells.push([s, l]);

  const seen = new Set<string>();
  const world: SynthWorld = { train: [], validation: [], test: [] };
  for (const split of SPLITS) {
    // Each split has its own stream, so the size of one split does not move the others.
    const rng = new Rng(hashString(`mathtune-synth/${seed}/${split}`));
    let order: Array<[Skill, Level]> = [];
    for (let i = 0; i < sizes[split]; i++) {
      // Cells are visited in a fresh random order each round, so every prefix is balanced.
      if (i % cells.length === 0) order = rng.shuffle(cells.slice());
      const [skill, level] = order[i % cells.length];
      const item = drawSynthItem(rng, skill, level, `synth/${split}/${i}`, maxChars, seen);
      if (!item) {
        throw new MathtuneError(ErrorCode.usage, `cannot draw more distinct ${skill} problems at level ${level} within ${maxChars} characters (${split} item ${i})`, {
          hint: "ask for fewer problems, or spread them over more levels and skills",
        });
      }
      seen.add(item.problem);
      world[split].push(item);
    }
  }
  return world;
}

/** The problem record of an item, carrying the solution of one style. */
export function synthToProblem(item: SynthItem, style: SynthStyle): Problem {
  return {
    id: item.id,
    problem: item.problem,
    answer: item.answer,
    solution: item[style],
    level: item.level,
    subject: item.skill,
    source: "synth",
  };
}
