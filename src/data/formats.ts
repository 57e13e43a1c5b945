/**
 * docs/formats.md, rendered from the record schemas of records.ts, so the page cannot drift from
 * what the commands validate (`npm run docs:formats` writes it; a test checks that it is current).
 */
import { z } from "zod";
import { PairwiseExampleSchema, PointwiseExampleSchema, ProblemSchema, SampleSchema, SftExampleSchema } from "./records.js";

/** The records, in the order of the page, with the commands that read and write each. */
const RECORDS: ReadonlyArray<{ title: string; schema: z.ZodType; files: string; example: Record<string, unknown> }> = [
  {
    title: "Problem",
    schema: ProblemSchema,
    files: "written by `data prepare` and `data synth`, and by the recipe's data stage (`data/train.jsonl`, `data/test.jsonl`); read by `data sft`, `sample`, `grade`, `score`, `eval`",
    example: { id: "test/algebra/1303.json", problem: "Solve $3x=7$.", answer: "\\frac{7}{3}", level: 5, subject: "Algebra", source: "math500" },
  },
  {
    title: "SFT example",
    schema: SftExampleSchema,
    files: "written by `data sft` and the recipe (`data/sft-<generator>.jsonl`; with `loss_spans`, the line evaluator's `line-evaluator/data.jsonl`); read by `train sft`",
    example: { prompt: "Problem: Find 108 mod 3.\nSolution:\n", completion: "3*36=108\n108-108=0, so 108 mod 3=0\n\\boxed{0}", id: "synth/train/0" },
  },
  {
    title: "Sample",
    schema: SampleSchema,
    files: "written by `sample` (appended as samples finish), completed by `grade` and `score`; read by `eval`, `train evaluator`, `score`",
    example: { problem_id: "synth/test/0", sample: 0, text: "3*36=108\n\\boxed{0}", tokens: 19, finish: "stop", seed: 1736412, extracted: "0", correct: true, score: 0.83 },
  },
  {
    title: "Pairwise evaluator example",
    schema: PairwiseExampleSchema,
    files: "written by `evaluator-data --pairwise` from graded samples (the trainer builds the same pairs in memory)",
    example: { prompt: "Find 108 mod 3.", chosen: "...\\boxed{0}", rejected: "...\\boxed{1}", problem_id: "synth/train/0" },
  },
  {
    title: "Pointwise evaluator example",
    schema: PointwiseExampleSchema,
    files: "written by `evaluator-data --pointwise`",
    example: { prompt: "Find 108 mod 3.", completion: "...\\boxed{0}", label: true, problem_id: "synth/train/0" },
  },
];

interface JsonSchema {
  type?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  minLength?: number;
  minimum?: number;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
}

function typeOf(s: JsonSchema): string {
  if (s.anyOf !== undefined) return s.anyOf.map(typeOf).join(" or ");
  if (s.enum !== undefined) return s.enum.map((v) => JSON.stringify(v)).join(" \\| ");
  let t = s.type ?? "any";
  if (t === "string" && s.minLength !== undefined && s.minLength > 0) t = "non-empty string";
  if (t === "integer" && s.minimum === 0) t = "integer >= 0";
  return t;
}

/** The Markdown table of one record schema's fields. */
export function fieldTable(schema: z.ZodType): string {
  const json = z.toJSONSchema(schema) as JsonSchema;
  const required = new Set(json.required ?? []);
  const rows = Object.entries(json.properties ?? {}).map(
    ([name, field]) => `| \`${name}\` | ${typeOf(field)} | ${required.has(name) ? "yes" : "no"} | ${field.description ?? ""} |`,
  );
  return ["| field | type | required | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

/** The whole page. */
export function formatsMarkdown(): string {
  const parts: string[] = [
    "# Record formats",
    "",
    "<!-- Generated from src/data/records.ts by `npm run docs:formats`; edit the schemas, not this page. -->",
    "",
    "Every JSONL file the tool reads or writes holds one JSON object per line, of one of the records",
    "below. Field names follow the ecosystem (MATH, TRL, lm-eval). Commands validate what they read",
    "with these schemas and fail with `file:line: field ...`; fields not listed are ignored on read.",
    "",
  ];
  for (const r of RECORDS) {
    const description = (z.toJSONSchema(r.schema) as JsonSchema).description ?? "";
    parts.push(`## ${r.title}`, "", description, "", `Files: ${r.files}.`, "", fieldTable(r.schema), "", "```json", JSON.stringify(r.example), "```", "");
  }
  parts.push(
    "## Results (`results.json`)",
    "",
    "`{\"results\": {\"<metric>@<k>\": value, \"<metric>@<k>_stderr\": value, \"<metric>@<k>:calls\": value, ...}, \"config\": {...}, \"versions\": {...}}`,",
    "written by `eval` and by the recipe (`eval/<arm>/results.json`, and the main arm's at the run",
    "folder's root). Metric names: `pass`, `maj1`, `majK` (the oracle; K in the config), `rr.all`,",
    "`rr.topK`, `wrr`, `wrr.topK`, `maj1.topN`; `:calls` counts evaluator calls per problem. Example",
    "keys: `pass@1`, `pass@64`, `maj1@64`, `rr.top8@64`, `rr.top8@64:calls`. docs/selection.md defines",
    "each metric.",
    "",
    "## Other files",
    "",
    "- The recipe file: docs/recipe.md lists every field with its default (`src/recipe/schema.ts`).",
    "- Models and checkpoints: GGUF files (docs/models.md, docs/engine.md).",
    "- A trainer's or a run's `metrics.jsonl`: one JSON object per step or stage, for reading progress;",
    "  docs/engine.md and docs/recipe.md describe them.",
    "",
  );
  return parts.join("\n");
}
