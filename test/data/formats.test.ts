import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { formatsMarkdown } from "../../src/data/formats.js";
import { PairwiseExampleSchema, PointwiseExampleSchema, ProblemSchema, SampleSchema, SftExampleSchema } from "../../src/data/records.js";

test("docs/formats.md is the page the record schemas render (npm run docs:formats rewrites it)", () => {
  const page = readFileSync(fileURLToPath(new URL("../../docs/formats.md", import.meta.url)), "utf8");
  assert.equal(page, formatsMarkdown(), "docs/formats.md is out of date: run npm run docs:formats");
});

test("every field of every record schema is on the page, and each example on the page parses", () => {
  const page = formatsMarkdown();
  const schemas = [ProblemSchema, SftExampleSchema, SampleSchema, PairwiseExampleSchema, PointwiseExampleSchema];
  for (const s of schemas) for (const field of Object.keys(s.shape)) assert.ok(page.includes(`| \`${field}\` |`), field);
  const examples = [...page.matchAll(/```json\n(.*)\n```/g)].map((m) => JSON.parse(m[1]) as unknown);
  assert.equal(examples.length, schemas.length);
  examples.forEach((e, i) => assert.doesNotThrow(() => (schemas[i] as z.ZodType).parse(e)));
});
