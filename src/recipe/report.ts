/**
 * The recipe's report: the paper's three comparisons across generator arms, as results.json,
 * report.md, report.html at the root of the run folder and as plain text for the terminal.
 *
 * (1) SSFT on each solution style: Pass@1, Maj1@N, Pass@N, and the paired difference of the main
 *     arm against each other arm (same test problems, so the per-problem differences give the
 *     standard error);
 * (2) re-ranking with the evaluator: Maj1, RR.All, RR.TopK, W.RR, W.RR.TopK and evaluator calls,
 *     the base model as evaluator's (no evaluator training) and the likelihood baselines' RR.All and
 *     W.RR.TopK (sequence, per-token, min token);
 * (3) MTSF against SSFT and the control.
 * A comparison whose stages did not run says so and names what is missing.
 */
import { join } from "node:path";
import { writeFileAtomic } from "../util/fs.js";
import { VERSION } from "../version.js";
import type { MetricTable } from "../metrics/compute.js";
import type { ResultsFile } from "../report/results.js";
import { buildTables, displayName, type Table } from "../report/tables.js";
import { markdownTable } from "../report/markdown.js";
import { renderPlots } from "../report/html.js";
import { esc, lineChart, PALETTE, type Series } from "../report/svg.js";
import type { Recipe } from "./schema.js";
import { baseEvaluatorBaseline, contrastiveRow, likelihoodBaselines, lineEvaluatorRow } from "./stages/shared.js";

/** One generator arm's evaluation. */
export interface ArmResult {
  name: string;
  /** Synthetic world: the solution style it was trained on. */
  style: string | null;
  results: ResultsFile;
  /** Per-problem values (Evaluation.perProblem), for paired differences. */
  perProblem: { ids: string[]; values: Record<string, number[]> };
}

/** The root results.json: the main arm's results in the common shape, plus every arm and the comparisons. */
export interface RecipeResults extends ResultsFile {
  /**
   * The main arm's evaluation meta; with the chat prompt format also `promptFormat: "chat"` and
   * the chat wrapper's name (absent: the plain prompt format, so plain runs keep their results).
   */
  meta: ResultsFile["meta"] & { promptFormat?: "chat"; chatWrapper?: string };
  recipe: string;
  main: string;
  arms: Record<string, { results: MetricTable; meta: ResultsFile["meta"] }>;
  /** `<main>-<other>/<metric>` → {diff, stderr, problems}: paired differences on the same problems. */
  paired: Record<string, { diff: number; stderr: number; problems: number }>;
  not_available: Array<{ stage: string; missing: string }>;
}

const pc = (v: number | undefined, e?: number): string =>
  v === undefined ? "–" : e === undefined ? (100 * v).toFixed(1) : `${(100 * v).toFixed(1)} ± ${(100 * e).toFixed(1)}`;

/** N of an arm: its largest k. */
function nOf(a: ArmResult): number {
  const ks = a.results.meta.ks;
  return ks[ks.length - 1];
}

/** A note naming the arms whose N samples cover fewer test problems than the main generator's. */
function fewerSampled(others: readonly ArmResult[], main: ArmResult): string {
  const fewer = others.filter((a) => a.results.meta.problems !== main.results.meta.problems);
  return fewer.length === 0 ? "" : `; ${fewer.map((a) => `${a.name}'s Maj1 and Pass@N on the first ${a.results.meta.problems}`).join(", ")}`;
}

/** A paired difference as a table cell: "+5.4 ± 1.8" (points), or "–". */
function signedPc(d: { diff: number; stderr: number } | undefined): string {
  return d ? `${d.diff >= 0 ? "+" : ""}${(100 * d.diff).toFixed(1)} ± ${(100 * d.stderr).toFixed(1)}` : "–";
}

/** Mean and standard error of the per-problem differences main - other, on the problems both have. */
export function pairedDifference(main: ArmResult, other: ArmResult, key: string): { diff: number; stderr: number; problems: number } | undefined {
  return pairedOf(main.perProblem, key, other.perProblem, key);
}

/** Mean and standard error of the per-problem differences of metric `ka` of `pa` and `kb` of `pb`, on the problems both have. */
function pairedOf(pa: ArmResult["perProblem"], ka: string, pb: ArmResult["perProblem"], kb: string): { diff: number; stderr: number; problems: number } | undefined {
  const a = pa.values[ka];
  const b = pb.values[kb];
  if (!a || !b) return undefined;
  const idx = new Map(pb.ids.map((id, i) => [id, i]));
  const d: number[] = [];
  pa.ids.forEach((id, i) => {
    const j = idx.get(id);
    // null (NaN before JSON): a problem with only a greedy solution, for a metric it has no value of.
    if (j !== undefined && Number.isFinite(a[i]) && Number.isFinite(b[j])) d.push(a[i] - b[j]);
  });
  if (d.length === 0) return undefined;
  const m = d.reduce((x, y) => x + y, 0) / d.length;
  const v = d.length > 1 ? d.reduce((x, y) => x + (y - m) ** 2, 0) / (d.length - 1) : 0;
  return { diff: m, stderr: Math.sqrt(v / d.length), problems: d.length };
}

/** The three comparison tables (with "not available" notes where a stage is missing). */
/** The MTSF model's and the control's evaluations. */
export interface MtsfArms {
  mtsf: ArmResult;
  control: ArmResult;
}

export function paperTables(recipe: Recipe, arms: ArmResult[], mtsfArms?: MtsfArms): { tables: Table[]; paired: RecipeResults["paired"] } {
  const main = arms[arms.length - 1];
  const N = nOf(main);
  const paired: RecipeResults["paired"] = {};
  const rows = arms.map((a) => {
    const t = a.results.results;
    const n = nOf(a);
    return [a.name + (a.style && a.style !== a.name ? ` (${a.style} solutions)` : ""), pc(t["pass@1"], t["pass@1_stderr"]), pc(t[`maj1@${n}`], t[`maj1@${n}_stderr`]), pc(t[`pass@${n}`], t[`pass@${n}_stderr`])];
  });
  for (const other of arms.slice(0, -1)) {
    const cells = [`${main.name} − ${other.name} (paired)`];
    for (const key of ["pass@1", `maj1@${N}`, `pass@${N}`]) {
      const d = pairedDifference(main, other, key);
      if (d) paired[`${main.name}-${other.name}/${key}`] = d;
      cells.push(signedPc(d));
    }
    rows.push(cells);
  }
  const tables: Table[] = [
    {
      title: `(1) SSFT by solution style (N = ${N})`,
      note: `${main.results.meta.greedyProblems !== undefined ? `Pass@1 (greedy) and its paired rows on ${main.results.meta.greedyProblems} test problems, the other columns on the first ${main.results.meta.problems} (the ones with N samples)` : `${main.results.meta.problems} test problems`}${fewerSampled(arms.slice(0, -1), main)}; accuracy in % ± bootstrap standard error; paired rows: mean per-problem difference ± its standard error, on the problems both have. Pass@1 is ${main.results.meta.pass1Source === "greedy" ? "the greedy solution" : "the mean sample accuracy (no greedy samples)"}.`,
      header: ["Generator", "Pass@1", `Maj1@${N}`, `Pass@${N}`],
      rows,
    },
  ];

  const t = main.results.results;
  const K = recipe.eval.topK;
  const scored = main.results.meta.strategies.filter((s) => s !== "maj1");
  if (scored.length > 0) {
    const keys = ["maj1", "rr.all", `rr.top${K}`, "wrr", `wrr.top${K}`, `maj1.top${recipe.eval.topN}`];
    const baselines = likelihoodBaselines.filter((b) => ["rr.all", `wrr.top${K}`, "auc"].some((k) => t[`${b.prefix}.${k}${k === "auc" ? "" : `@${N}`}`] !== undefined));
    const baselineAucs = baselines.filter((b) => t[`${b.prefix}.auc`] !== undefined).map((b) => `${b.label} ${t[`${b.prefix}.auc`].toFixed(3)}`);
    // The base model as the evaluator, before evaluator training (`base-evaluator.*`).
    const be = baseEvaluatorBaseline.prefix;
    const baseEval = ["rr.all", `wrr.top${K}`, "auc"].some((k) => t[`${be}.${k}${k === "auc" ? "" : `@${N}`}`] !== undefined);
    const beAuc = t[`${be}.auc`];
    const baseAucText =
      beAuc === undefined
        ? ""
        : `the base model as evaluator before evaluator training: ${beAuc.toFixed(3)}${
            t[`${be}.auc:pairs`] !== t["evaluator.auc:pairs"] ? ` (${t[`${be}.auc:pairs`]} pairs from ${t[`${be}.auc:problems`]} problems)` : ""
          }`;
    // The line evaluator, an ablation beside the paper's evaluator (`line-evaluator.*`).
    const le = lineEvaluatorRow.prefix;
    const leAuc = t[`${le}.auc`];
    // The sequence-contrastive re-ranker, not the paper's evaluator (`contrastive.*`).
    const ct = contrastiveRow.prefix;
    const ctAuc = t[`${ct}.auc`];
    // The RR.All, RR.TopK and W.RR.TopK rows of a trained re-ranker besides the evaluator, with its calls.
    const rerankerKeys = (prefix: string): string[] => ["rr.all", `rr.top${K}`, `wrr.top${K}`].filter((k) => t[`${prefix}.${k}@${N}`] !== undefined);
    // Each re-ranking against Maj1 on the same problems (per-problem values of the eval stage).
    const vsMaj1 = (key: string): string => {
      const d = pairedOf(main.perProblem, key, main.perProblem, `maj1@${N}`);
      if (d) paired[`${main.name}/${key}-maj1@${N}`] = d;
      return signedPc(d);
    };
    const rerankerRows = (row: { prefix: string; label: string }): string[][] =>
      rerankerKeys(row.prefix).map((k) => [
        `${displayName(k)} (${row.label})`,
        pc(t[`${row.prefix}.${k}@${N}`], t[`${row.prefix}.${k}@${N}_stderr`]),
        ((t[`${row.prefix}.${k}@${N}:calls`] ?? 0) / main.results.meta.problems).toFixed(1),
        vsMaj1(`${row.prefix}.${k}@${N}`),
      ]);
    const lineKeys = rerankerKeys(le);
    const ctKeys = rerankerKeys(ct);
    tables.push({
      title: `(2) Re-ranking with the evaluator (${main.name}, N = ${N})`,
      note:
        `Evaluator calls: solutions the evaluator scores, per problem. − Maj1 (paired): the strategy's accuracy minus Maj1@${N}'s, problem by problem, mean ± its standard error (points).` +
        (t["evaluator.auc"] !== undefined
          ? ` Evaluator AUC on these test samples (a correct vs an incorrect sample of the same problem; ${t["evaluator.auc:pairs"]} pairs from ${t["evaluator.auc:problems"]} problems): ${t["evaluator.auc"].toFixed(3)}${
              baseAucText !== "" ? `; ${baseAucText}` : ""
            }${baselineAucs.length > 0 ? `; the baselines' AUCs: ${baselineAucs.join(", ")}` : ""}.`
          : baseAucText !== ""
            ? ` AUCs (a correct vs an incorrect sample of the same problem): ${baseAucText}${baselineAucs.length > 0 ? `; the baselines': ${baselineAucs.join(", ")}` : ""}.`
            : baselineAucs.length > 0
              ? ` The baselines' AUCs (a correct vs an incorrect sample of the same problem): ${baselineAucs.join(", ")}.`
              : "") +
        (baseEval
          ? ` "(${baseEvaluatorBaseline.label})" rows: the same strategies with the base model (model.base) scoring the same samples through the evaluator's template and label words${
              recipe.evaluator.scoreTopK > 0 ? ` (top-${recipe.evaluator.scoreTopK} clusters only, as the evaluator)` : ""
            }, before evaluator training: what the evaluator fine-tuning adds is the difference to the evaluator's rows.`
          : "") +
        (lineKeys.length > 0 || leAuc !== undefined
          ? ` "(${lineEvaluatorRow.label})" rows: an evaluator trained on a label after every line (true or not) instead of one per solution, scoring a solution by the probability that every line is true (lineEvaluator; not the paper's setting)${
              leAuc !== undefined ? `; its AUC ${leAuc.toFixed(3)}` : ""
            }.`
          : "") +
        (ctKeys.length > 0 || ctAuc !== undefined
          ? ` "(${contrastiveRow.label})" rows: the ${main.name} generator fine-tuned on the evaluator's samples so that its likelihood of a correct solution exceeds that of an incorrect one of the same problem (the sequence-level contrastive loss, contrastive.enabled), its sequence likelihood as the score; not the paper's evaluator${
              ctAuc !== undefined ? `; its AUC ${ctAuc.toFixed(3)}` : ""
            }.`
          : "") +
        likeForLike(t, baselines) +
        (baselines.length > 0
          ? ` Baseline rows: the same strategies with the generator's own probability of each solution as the score, no evaluator: ${baselines
              .map((b) => `"(${b.label})" ${BASELINE_MEANING[b.per]}`)
              .join("; ")}.`
          : ""),
      header: ["Strategy", `Accuracy@${N}`, "Evaluator calls / problem", "− Maj1 (paired)"],
      rows: [
        ...keys
          .filter((k) => t[`${k}@${N}`] !== undefined)
          .map((k) => [
            displayName(k),
            pc(t[`${k}@${N}`], t[`${k}@${N}_stderr`]),
            k === "maj1" ? "0" : ((t[`${k}@${N}:calls`] ?? 0) / main.results.meta.problems).toFixed(1),
            k === "maj1" ? "–" : vsMaj1(`${k}@${N}`),
          ]),
        ...(baseEval
          ? ["rr.all", `wrr.top${K}`]
              .filter((k) => t[`${be}.${k}@${N}`] !== undefined)
              .map((k) => [
                `${displayName(k)} (${baseEvaluatorBaseline.label})`,
                pc(t[`${be}.${k}@${N}`], t[`${be}.${k}@${N}_stderr`]),
                ((t[`${be}.${k}@${N}:calls`] ?? 0) / main.results.meta.problems).toFixed(1),
                vsMaj1(`${be}.${k}@${N}`),
              ])
          : []),
        ...rerankerRows(lineEvaluatorRow),
        ...rerankerRows(contrastiveRow),
        ...baselines.flatMap((b) =>
          ["rr.all", `wrr.top${K}`]
            .filter((k) => t[`${b.prefix}.${k}@${N}`] !== undefined)
            .map((k) => [`${displayName(k)} (${b.label})`, pc(t[`${b.prefix}.${k}@${N}`], t[`${b.prefix}.${k}@${N}_stderr`]), "–", vsMaj1(`${b.prefix}.${k}@${N}`)]),
        ),
      ],
    });
  } else {
    tables.push({
      title: `(2) Re-ranking with the evaluator (${main.name}, N = ${N}) — not available`,
      note: `RR.All, RR.Top${K}, W.RR, W.RR.Top${K} need evaluator scores; ${
        recipe.evaluator.enabled ? "the evaluator scored none of the samples" : "this run trained no evaluator (evaluator.enabled is false)"
      }. Shown: the no-evaluator baseline and the oracle bound of any top-${K} re-ranking.`,
      header: ["Strategy", `Accuracy@${N}`, "Evaluator calls / problem"],
      rows: [
        ["Maj1", pc(t[`maj1@${N}`], t[`maj1@${N}_stderr`]), "0"],
        [`Maj${K} (oracle: a top-${K} cluster is correct)`, pc(t[`majK@${N}`], t[`majK@${N}_stderr`]), "–"],
      ],
    });
  }
  if (mtsfArms) {
    const row = (label: string, a: ArmResult): string[] => {
      const x = a.results.results;
      return [label, pc(x["pass@1"], x["pass@1_stderr"]), pc(x[`maj1@${N}`], x[`maj1@${N}_stderr`])];
    };
    const rows3 = [
      row(`SSFT (${main.name})`, main),
      row(`MTSF (evaluator ${recipe.mtsf.evaluatorSteps} + generator ${recipe.mtsf.generatorSteps} steps)`, mtsfArms.mtsf),
      row(`control (SSFT + ${recipe.mtsf.generatorSteps} generator steps)`, mtsfArms.control),
    ];
    for (const [label, other] of [["MTSF − SSFT", main], ["MTSF − control", mtsfArms.control]] as const) {
      const cells = [`${label} (paired)`];
      for (const key of ["pass@1", `maj1@${N}`]) {
        const d = pairedDifference(mtsfArms.mtsf, other, key);
        if (d) paired[`mtsf-${other === main ? main.name : "control"}/${key}`] = d;
        cells.push(signedPc(d));
      }
      rows3.push(cells);
    }
    tables.push({
      title: `(3) MTSF vs SSFT vs the control (N = ${N})`,
      note: `The control trains the SSFT model for as many extra generator steps as MTSF's last stage, so the comparison is not more steps against fewer${fewerSampled([mtsfArms.mtsf, mtsfArms.control], main)}.`,
      header: ["Model", "Pass@1", `Maj1@${N}`],
      rows: rows3,
    });
  } else {
    tables.push({
      title: "(3) MTSF vs SSFT vs the control — not in this run",
      note: "mtsf.enabled is false. Shown: the SSFT generator the comparison starts from.",
      header: ["Model", "Pass@1", `Maj1@${N}`],
      rows: [[`SSFT (${main.name})`, pc(t["pass@1"], t["pass@1_stderr"]), pc(t[`maj1@${N}`], t[`maj1@${N}_stderr`])], ["MTSF", "–", "–"], ["SSFT + same extra steps (control)", "–", "–"]],
    });
  }
  return { tables, paired };
}

/**
 * Table (2)'s like-for-like AUCs, when the evaluator left candidates unscored (eval stage:
 * `evaluator.auc.all`, `<baseline>.auc.evaluator-scored`); empty otherwise.
 */
function likeForLike(t: MetricTable, baselines: ReadonlyArray<(typeof likelihoodBaselines)[number]>): string {
  const all = t["evaluator.auc.all"];
  if (all === undefined) return "";
  const on = baselines.filter((b) => t[`${b.prefix}.auc.evaluator-scored`] !== undefined).map((b) => `${b.label} ${t[`${b.prefix}.auc.evaluator-scored`].toFixed(3)}`);
  const be = t[`${baseEvaluatorBaseline.prefix}.auc.all`];
  return (
    " The evaluator left some candidates unscored (too long for its context, or outside the top-K clusters), so its AUC rests on fewer pairs than the baselines'." +
    (on.length > 0 ? ` On the ${t["evaluator.auc:pairs"]} pairs it scored, the baselines' AUCs are: ${on.join(", ")}.` : "") +
    ` Over all ${t["evaluator.auc.all:pairs"]} pairs, with the unscored candidates ranked last (as re-ranking ranks them), the evaluator's AUC is ${all.toFixed(3)}${be !== undefined ? ` (the base model as evaluator: ${be.toFixed(3)})` : ""}.`
  );
}

/** What each likelihood baseline's score is, for table (2)'s note. */
const BASELINE_MEANING: Record<(typeof likelihoodBaselines)[number]["per"], string> = {
  sequence: "p(X|P) of the whole solution",
  token: "its geometric mean per token",
  min: "the probability of its least likely token",
};

/** Plain-text rendering of a table for the terminal. */
export function textTable(t: Table): string {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  const out = [t.title, ...(t.note ? [t.note] : []), line(t.header), widths.map((w) => "-".repeat(w)).join("  "), ...t.rows.map(line)];
  return out.join("\n") + "\n";
}

function htmlTable(t: Table): string {
  const head = `<tr>${t.header.map((h, i) => `<th${i === 0 ? "" : ' class="num"'}>${esc(h)}</th>`).join("")}</tr>`;
  const body = t.rows.map((r) => `<tr>${r.map((c, i) => `<td${i === 0 ? "" : ' class="num"'}>${esc(c)}</td>`).join("")}</tr>`).join("\n");
  return `<section><h2>${esc(t.title)}</h2>${t.note ? `<p class="note">${esc(t.note)}</p>` : ""}<div class="scroll"><table>${head}\n${body}</table></div></section>`;
}

/** Maj1@k and Pass@k of every arm against k (one chart). */
function armsChart(arms: ArmResult[]): string {
  const series: Series[] = [];
  arms.forEach((a, i) => {
    const ks = a.results.meta.ks;
    const t = a.results.results;
    const c = PALETTE[i % PALETTE.length];
    series.push({ name: `${a.name} Maj1@k`, color: c, x: ks, y: ks.map((k) => t[`maj1@${k}`]), err: ks.map((k) => t[`maj1@${k}_stderr`] ?? 0) });
    series.push({ name: `${a.name} Pass@k`, color: c, dashed: true, x: ks, y: ks.map((k) => t[k === 1 ? "mean@1" : `pass@${k}`]) });
  });
  return lineChart(
    series.filter((s) => s.y.every((v) => v !== undefined)),
    { title: "Generators: Maj1@k (solid, ± standard error) and Pass@k (dashed)", xLabel: "k (samples per problem)", yLabel: "accuracy", logX: true },
  );
}

const CSS = `
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; padding: 0 1rem; }
.scroll { overflow-x: auto; } figcaption { color: #555; font-size: 0.85rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; }
th { background: #f4f4f4; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.note, .meta { color: #555; font-size: 0.9rem; } figure { margin: 1rem 0; }
`;

/** The sentence that says which generator prompt format a recipe used (`chatWrapper`: the chat template's wrapper). */
export function promptFormatLine(recipe: Recipe, chatWrapper?: string): string {
  if (recipe.promptFormat === "chat") {
    return `prompt format: chat (the ${chatWrapper ?? "model's"} chat template of model.base${recipe.systemPrompt !== null ? ", with a system turn" : ""})`;
  }
  return `prompt format: plain (${recipe.promptTemplate === null ? "the plain generator prompt" : "promptTemplate"})`;
}

/**
 * Writes results.json, report.md and report.html of a recipe run into `runDir`; `chatWrapper`
 * names the chat wrapper of the chat prompt format.
 */
export function writeRecipeReport(runDir: string, recipe: Recipe, arms: ArmResult[], mtsfArms?: MtsfArms, chatWrapper?: string): RecipeResults {
  const main = arms[arms.length - 1];
  const { tables, paired } = paperTables(recipe, arms, mtsfArms);
  const all = mtsfArms ? [...arms, mtsfArms.mtsf, mtsfArms.control] : arms;
  const results: RecipeResults = {
    ...main.results,
    meta: recipe.promptFormat === "chat" ? { ...main.results.meta, promptFormat: "chat", chatWrapper: chatWrapper ?? "unknown" } : main.results.meta,
    config: { ...main.results.config, recipe: recipe.name },
    versions: { ...main.results.versions, mathtune: VERSION },
    recipe: recipe.name,
    main: main.name,
    arms: Object.fromEntries(all.map((a) => [a.name, { results: a.results.results, meta: a.results.meta }])),
    paired,
    // Every stage has its component in this build; the field stays so results.json keeps its shape.
    not_available: [],
  };
  writeFileAtomic(join(runDir, "results.json"), JSON.stringify(results, null, 2) + "\n");

  const perArm = buildTables(main.results);
  const md = [
    `# ${recipe.name}: recipe report`,
    "",
    `Generators: ${arms.map((a) => a.name).join(", ")} · main: ${main.name} · mathtune ${VERSION} · ${promptFormatLine(recipe, chatWrapper)} · per-generator reports in \`eval/<generator>/\`.`,
    "",
    ...tables.map(markdownTable),
    `# Main generator (${main.name}) in detail`,
    "",
    ...perArm.map(markdownTable),
  ].join("\n");
  writeFileAtomic(join(runDir, "report.md"), md);

  const plots = renderPlots(main.results);
  const figures = [
    `<figure>${armsChart(all)}<figcaption>${esc("Each generator's majority vote and oracle against the number of samples k.")}</figcaption></figure>`,
    `<figure>${plots.byK}<figcaption>${esc(`${main.name}: every metric against k; bars: ± bootstrap standard error.`)}</figcaption></figure>`,
    ...(plots.byLevel ? [`<figure>${plots.byLevel}<figcaption>${esc(`${main.name}: accuracy by level.`)}</figcaption></figure>`] : []),
    ...(plots.byCalls ? [`<figure>${plots.byCalls}<figcaption>${esc(`${main.name}: accuracy against evaluator calls.`)}</figcaption></figure>`] : []),
  ];
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(recipe.name)}: mathtune recipe report</title>
<style>${CSS}</style>
</head>
<body>
<h1>${esc(recipe.name)}: recipe report</h1>
<p class="meta">${esc(`generators: ${arms.map((a) => a.name).join(", ")} · main: ${main.name} · mathtune ${VERSION} · ${promptFormatLine(recipe, chatWrapper)}`)}</p>
${tables.map(htmlTable).join("\n")}
<section><h2>Figures</h2>
${figures.join("\n")}
</section>
<h1>${esc(`Main generator (${main.name}) in detail`)}</h1>
${perArm.map(htmlTable).join("\n")}
</body>
</html>
`;
  writeFileAtomic(join(runDir, "report.html"), html);
  return results;
}

/** The paper's tables of a finished run as terminal text. */
export function formatPaperTables(recipe: Recipe, arms: ArmResult[], mtsfArms?: MtsfArms): string {
  return paperTables(recipe, arms, mtsfArms).tables.map(textTable).join("\n");
}
