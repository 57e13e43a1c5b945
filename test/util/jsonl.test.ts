import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { readJsonl, repairJsonlTail, appendJsonl, writeJsonlAtomic } from "../../src/util/jsonl.js";
import { MathtuneError } from "../../src/errors.js";

const dir = mkdtempSync(join(tmpdir(), "mathtune-jsonl-"));
const schema = z.object({ prompt: z.string(), completion: z.string() });

test("readJsonl validates and names file, line and field", () => {
  const f = join(dir, "a.jsonl");
  writeFileSync(f, '{"prompt":"p","completion":"c"}\n\n{"prompt":"p"}\n');
  assert.throws(
    () => readJsonl(f, schema),
    (e: unknown) => e instanceof MathtuneError && e.code === "E_INPUT" && /a\.jsonl:3: field completion/.test(e.message),
  );
});

test("readJsonl reports invalid JSON with its line", () => {
  const f = join(dir, "b.jsonl");
  writeFileSync(f, '{"prompt":"p","completion":"c"}\n{oops\n');
  assert.throws(() => readJsonl(f, schema), /b\.jsonl:2: invalid JSON/);
});

test("repairJsonlTail drops a cut-off last line and keeps whole ones", () => {
  const f = join(dir, "c.jsonl");
  appendJsonl(f, [{ a: 1 }, { a: 2 }]);
  writeFileSync(f, readFileSync(f, "utf8") + '{"a":3');
  assert.equal(repairJsonlTail(f), 6);
  assert.equal(readFileSync(f, "utf8"), '{"a":1}\n{"a":2}\n');
  assert.equal(repairJsonlTail(f), 0);
});

test("writeJsonlAtomic leaves no temp file behind", () => {
  const sub = mkdtempSync(join(dir, "w-"));
  writeJsonlAtomic(join(sub, "out.jsonl"), [{ x: 1 }]);
  assert.deepEqual(readdirSync(sub), ["out.jsonl"]);
});
