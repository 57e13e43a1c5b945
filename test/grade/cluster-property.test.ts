// Property: a cluster key is only shared by answers that `equivalent` accepts
// (clusterKey(a) === clusterKey(b) implies equivalent(a, b)). Pairs are drawn from real MATH
// answers in ../shared/data (skipped when absent) and from generated answers with small
// perturbations (tiny offsets, renamed variables, huge and undefined values), which are the cases
// where a lossy key would merge different answers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { clusterKey, equivalent } from "../../src/grade/index.js";

const dir = (process.env.MATHTUNE_SHARED_DATA ?? fileURLToPath(new URL("../../../shared/data/", import.meta.url))).replace(/\/?$/, "/");

function sharedAnswers(): string[] {
  const out = new Set<string>();
  const lines = (f: string): Array<Record<string, unknown>> =>
    readFileSync(dir + f, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  for (const r of lines("math500_test.jsonl")) if (typeof r.answer === "string") out.add(r.answer);
  if (existsSync(dir + "qwen25math_math_cot_100_rm_maj.jsonl")) {
    for (const r of lines("qwen25math_math_cot_100_rm_maj.jsonl")) {
      if (typeof r.gt === "string") out.add(r.gt);
      if (Array.isArray(r.pred)) for (const p of r.pred) if (typeof p === "string") out.add(p);
    }
  }
  if (existsSync(dir + "grader_bench_public.jsonl")) {
    for (const r of lines("grader_bench_public.jsonl")) {
      if (r.input_kind === "answer" && typeof r.gold === "string" && typeof r.pred === "string") {
        out.add(r.gold);
        out.add(r.pred);
      }
    }
  }
  return [...out];
}

const skipShared = existsSync(dir + "math500_test.jsonl") ? false : `shared data absent (${dir}); set MATHTUNE_SHARED_DATA to run`;

test("property on MATH answers: answers with one key are equivalent", { skip: skipShared }, () => {
  const answers = sharedAnswers();
  assert.ok(answers.length > 500);
  const byKey = new Map<string, string[]>();
  for (const a of answers) {
    const k = clusterKey(a);
    const g = byKey.get(k);
    if (g) g.push(a);
    else byKey.set(k, [a]);
  }
  // Every pair inside a key group (the only pairs where the implication can fail), capped per group.
  const bad: string[] = [];
  let pairs = 0;
  for (const [k, g] of byKey) {
    for (let i = 0; i < Math.min(g.length, 25); i++) {
      for (let j = i + 1; j < Math.min(g.length, 25); j++) {
        pairs++;
        if (!equivalent(g[i], g[j])) bad.push(`${JSON.stringify(g[i])} / ${JSON.stringify(g[j])} share ${k}`);
      }
    }
  }
  assert.ok(pairs > 100, `only ${pairs} same-key pairs`);
  assert.deepEqual(bad, []);
  // And random pairs across the pool.
  fc.assert(
    fc.property(fc.nat(answers.length - 1), fc.nat(answers.length - 1), (i, j) => {
      const a = answers[i];
      const b = answers[j];
      return clusterKey(a) !== clusterKey(b) || equivalent(a, b);
    }),
    { numRuns: 1000, seed: 7 },
  );
});

const atom = fc.oneof(
  fc.integer({ min: -30, max: 30 }).map(String),
  fc.tuple(fc.integer({ min: -20, max: 20 }), fc.integer({ min: 1, max: 12 })).map(([p, q]) => `\\frac{${p}}{${q}}`),
  fc.tuple(fc.integer({ min: 0, max: 99 }), fc.integer({ min: 1, max: 99 })).map(([a, b]) => `${a}.${b}`),
  fc.integer({ min: 2, max: 50 }).map((n) => `\\sqrt{${n}}`),
  fc.constantFrom("\\pi", "e", "x", "y", "z", "\\infty", "-\\infty", "i", "\\frac{1}{0}", "0^0"),
  fc.integer({ min: 300, max: 5000 }).map((n) => `10^{${n}}`),
  fc.integer({ min: 171, max: 900 }).map((n) => `${n}!`),
  fc.integer({ min: 2, max: 9 }).map((n) => `\\arcsin ${n}`),
  fc.constantFrom("\\text{red}", "\\text{blue}", "\\text{A}", "(B)", "\\text{yes}"),
);

const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    atom,
    fc.tuple(tie("e"), tie("e")).map(([a, b]) => `${a}+${b}`),
    fc.tuple(tie("e"), tie("e")).map(([a, b]) => `(${a})\\cdot(${b})`),
    fc.tuple(tie("e"), fc.integer({ min: 2, max: 4 })).map(([a, n]) => `(${a})^{${n}}`),
  ),
})).e;

const answer = fc.oneof(
  expr,
  fc.tuple(fc.constantFrom("x", "y", "f(x)", "g(x)", "a_1"), expr).map(([n, v]) => `${n}=${v}`),
  fc.tuple(expr, expr).map(([a, b]) => `${a}, ${b}`),
  fc.tuple(expr, expr).map(([a, b]) => `\\{${a}, ${b}\\}`),
  fc.tuple(expr, expr, fc.constantFrom("()", "[]", "(]", "[)")).map(([a, b, br]) => `${br[0]}${a}, ${b}${br[1]}`),
  fc.tuple(expr, expr).map(([a, b]) => `y = ${a}x + ${b}`),
  fc.tuple(fc.constantFrom("<", "\\le", ">", "\\ge"), expr).map(([op, v]) => `x ${op} ${v}`),
);

/** Perturbations that keep most of the answer: the cases a lossy key would merge. */
function perturb(a: string, how: number, k: number): string {
  switch (how) {
    case 0:
      return `${a}+10^{-${k}}`;
    case 1:
      return `(${a})\\cdot(1+\\sqrt{2}\\cdot 10^{-${k}})`;
    case 2:
      return a.replace(/x/g, "t");
    case 3:
      return a.replace(/\d/, (d) => String((Number(d) + 1) % 10));
    case 4:
      return `${a}+0`; // an equivalent rewrite: these must keep sharing keys only when equivalent
    case 5:
      return a.replace(/y/g, "x");
    default:
      return `2(${a})/2`;
  }
}

test("property on generated answers and their perturbations", () => {
  fc.assert(
    fc.property(answer, answer, fc.integer({ min: 0, max: 6 }), fc.integer({ min: 8, max: 25 }), (a, c, how, k) => {
      const b = perturb(a, how, k);
      const ok1 = clusterKey(a) !== clusterKey(b) || equivalent(a, b);
      const ok2 = clusterKey(a) !== clusterKey(c) || equivalent(a, c);
      return ok1 && ok2;
    }),
    { numRuns: 1500, seed: 42 },
  );
});
