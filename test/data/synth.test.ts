import { test } from "node:test";
import assert from "node:assert/strict";
import { synthesizeWorld, synthToProblem, checkSynthItem, drawSynthItem, ALPHABET, SKILLS, LEVELS, type SynthItem } from "../../src/data/synth/world.js";
import { synthLengthReport, synthLengths } from "../../src/data/synth/report.js";
import { GENERATORS } from "../../src/data/synth/skills.js";
import { addColumns, subtractColumns, multiplyLines, euclidLines, modLines } from "../../src/data/synth/steps.js";
import { Rational, parseRationalLatex } from "../../src/data/rational.js";
import { lastBoxedContent } from "../../src/data/boxed.js";
import { ProblemSchema } from "../../src/data/records.js";
import { generatorPrompt, evaluatorPrompt } from "../../src/data/prompts.js";
import { Rng } from "../../src/util/rng.js";

const world = synthesizeWorld({ n: 1800, validation: 180, test: 360, seed: 7 });
const all = (): SynthItem[] => [...world.train, ...world.validation, ...world.test];

test("the world is deterministic by seed and differs across seeds", () => {
  const again = synthesizeWorld({ n: 1800, validation: 180, test: 360, seed: 7 });
  assert.deepEqual(
    again.train.map((x) => [x.problem, x.terse, x.detailed]),
    world.train.map((x) => [x.problem, x.terse, x.detailed]),
  );
  assert.deepEqual(
    again.test.map((x) => x.problem),
    world.test.map((x) => x.problem),
  );
  const other = synthesizeWorld({ n: 50, validation: 0, test: 0, seed: 8 });
  assert.notDeepEqual(
    other.train.map((x) => x.problem),
    world.train.slice(0, 50).map((x) => x.problem),
  );
});

test("splits share no problem text and have the asked sizes", () => {
  assert.equal(world.train.length, 1800);
  assert.equal(world.validation.length, 180);
  assert.equal(world.test.length, 360);
  const texts = all().map((x) => x.problem);
  assert.equal(new Set(texts).size, texts.length);
  const ids = all().map((x) => x.id);
  assert.equal(new Set(ids).size, ids.length);
});

test("the test split does not move when the training size changes", () => {
  const small = synthesizeWorld({ n: 100, validation: 180, test: 360, seed: 7 });
  assert.deepEqual(
    small.test.map((x) => x.problem),
    world.test.map((x) => x.problem),
  );
  assert.deepEqual(
    small.validation.map((x) => x.problem),
    world.validation.map((x) => x.problem),
  );
});

test("every skill and level is present and balanced", () => {
  const count = new Map<string, number>();
  for (const it of world.train) count.set(`${it.skill}/${it.level}`, (count.get(`${it.skill}/${it.level}`) ?? 0) + 1);
  assert.equal(count.size, SKILLS.length * LEVELS.length);
  for (const v of count.values()) assert.equal(v, 1800 / (SKILLS.length * LEVELS.length));
});

test("every answer checks: both styles box the exact value; canonical answers; alphabet; length", () => {
  for (const it of all()) {
    checkSynthItem(it, 320);
    for (const sol of [it.terse, it.detailed]) {
      const boxed = lastBoxedContent(sol);
      assert.ok(boxed !== null);
      assert.ok(parseRationalLatex(boxed)?.equals(it.value), `${it.problem}: ${boxed} vs ${it.answer}`);
      assert.ok(sol.endsWith(`\\boxed{${boxed}}`));
    }
  }
  // Equivalent forms really occur: some boxed answers are mixed numbers unlike their answer string.
  const mixed = all().filter((it) => lastBoxedContent(it.detailed) !== it.answer);
  assert.ok(mixed.length > 0);
  assert.ok(mixed.every((it) => /^-?\d+\\frac/.test(lastBoxedContent(it.detailed) ?? "")));
  // Fractions, negative fractions and integers all appear among the answers.
  assert.ok(all().some((it) => it.answer.startsWith("\\frac")));
  assert.ok(all().some((it) => it.answer.startsWith("-\\frac")));
  assert.ok(all().some((it) => /^\d+$/.test(it.answer)));
});

test("the world uses exactly ALPHABET; the evaluator template adds nothing, the generator prompt only P", () => {
  const used = new Set<string>();
  for (const it of all()) for (const text of [it.problem, it.answer, it.terse, it.detailed]) for (const ch of text) used.add(ch);
  assert.equal([...used].sort().join(""), [...ALPHABET].sort().join(""));
  assert.equal(new Set(ALPHABET).size, ALPHABET.length);
  assert.deepEqual(
    [...evaluatorPrompt("", "")].filter((c) => !ALPHABET.includes(c)),
    [],
  );
});

test("the self-check catches a wrong box, a foreign character and an overlong item", () => {
  const it = world.train[0];
  assert.throws(() => checkSynthItem({ ...it, detailed: it.detailed.replace(/\\boxed\{.*\}$/, "\\boxed{99999}") }), /boxed 99999 != answer/);
  assert.throws(() => checkSynthItem({ ...it, terse: `é${it.terse}` }), /outside ALPHABET/);
  assert.throws(() => checkSynthItem({ ...it, answer: it.value.add(Rational.one).toLatex() }), /does not parse to/);
  assert.throws(() => checkSynthItem(it, 10), /longer than 10/);
});

test("many more draws per cell all pass the self-check (a sweep over seeds)", () => {
  const rng = new Rng(12345);
  for (const skill of SKILLS) {
    for (const level of LEVELS) {
      for (let i = 0; i < 60; i++) assert.ok(drawSynthItem(rng, skill, level, "x"));
    }
  }
});

test("detailed solutions take small steps; terse ones jump", () => {
  const lines = (s: string) => s.split("\n").length;
  let detailedLonger = 0;
  for (const it of all()) if (lines(it.detailed) > lines(it.terse)) detailedLonger++;
  assert.ok(detailedLonger / all().length > 0.85, `${detailedLonger} of ${all().length}`);
  for (const it of all()) assert.ok(lines(it.terse) <= 3, it.terse);
});

test("step helpers compute what they claim", () => {
  assert.deepEqual(addColumns(487, 356), { lines: ["7+6=13, so far 3, carry 1", "8+5+1=14, so far 43, carry 1", "4+3+1=8, so far 843"], value: "843" });
  assert.equal(addColumns(987, 56).value, "1043");
  assert.deepEqual(subtractColumns(702, 358), { lines: ["12-8=4, so far 4, borrow 1", "10-1-5=4, so far 44, borrow 1", "7-1-3=3, so far 344"], value: "344" });
  assert.equal(subtractColumns(702, 698).value, "4");
  assert.deepEqual(multiplyLines(47, 36), { lines: ["47*6=40*6+7*6=240+42=282", "47*30=40*30+7*30=1200+210=1410", "282+1410=1692"], value: 1692 });
  assert.deepEqual(euclidLines(18, 48), { lines: ["48=2*18+12", "18=1*12+6", "12=2*6+0"], gcd: 6 });
  assert.deepEqual(modLines(47, 5), { lines: ["5*9=45", "47-45=2, so 47 mod 5=2"], r: 2 });
  // Property over random operands: the helpers' values are the true results.
  const rng = new Rng(3);
  for (let i = 0; i < 500; i++) {
    const a = rng.int(0, 99999);
    const b = rng.int(0, 99999);
    assert.equal(Number(addColumns(a, b).value), a + b);
    assert.equal(Number(subtractColumns(Math.max(a, b), Math.min(a, b)).value), Math.abs(a - b));
    const m = rng.int(1, 999);
    assert.equal(multiplyLines(a, m).value, a * m);
  }
});

test("every generator is deterministic given its rng", () => {
  for (const skill of SKILLS) {
    for (const level of LEVELS) {
      const a = drawSynthItem(new Rng(99), skill, level, "x");
      const b = drawSynthItem(new Rng(99), skill, level, "x");
      assert.deepEqual(a, b);
    }
  }
  assert.equal(Object.keys(GENERATORS).length, SKILLS.length);
});

test("records: one style per record, source synth, valid Problem; prompt + completion fit the alphabet", () => {
  const it = world.test[0];
  const t = synthToProblem(it, "terse");
  const d = synthToProblem(it, "detailed");
  ProblemSchema.parse(t);
  ProblemSchema.parse(d);
  assert.equal(t.solution, it.terse);
  assert.equal(d.solution, it.detailed);
  assert.equal(d.source, "synth");
  assert.equal(d.subject, it.skill);
  const promptChars = new Set(generatorPrompt("")).values();
  const extra = [...promptChars].filter((c) => !ALPHABET.includes(c));
  assert.deepEqual(extra, ["P"], "the plain prompt adds one character (P) to the world's alphabet");
});

test("length self-check: level 5 detailed fits in 320 characters; the table prints", (t) => {
  const rows = new Map(synthLengths(all()));
  assert.ok((rows.get("L5 detailed")?.max ?? Infinity) <= 320);
  assert.ok((rows.get("all terse")?.p50 ?? 0) < (rows.get("all detailed")?.p50 ?? 0));
  const report = synthLengthReport(all());
  t.diagnostic(`\n${report}`);
  assert.match(report, /L1 terse/);
});

test("a too-large request fails clearly instead of looping", () => {
  assert.throws(() => synthesizeWorld({ n: 400, validation: 0, test: 0, levels: [1], skills: ["linear"], seed: 1, maxChars: 20 }), /cannot draw more distinct linear problems at level 1/);
});
