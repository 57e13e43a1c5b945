import { test } from "node:test";
import assert from "node:assert/strict";
import { Budget } from "../../src/grade/budget.js";
import { children, nodeKey, parseAnswer } from "../../src/grade/parse.js";
import { prepareClean } from "../../src/grade/verify.js";

const parse = (s: string) => parseAnswer(prepareClean(s), new Budget(100_000, 1_000));

test("children: the direct sub-nodes of each kind of node, in order", () => {
  const rows: Array<[string, string[]]> = [
    ["x+2", ["x", "2"]],
    ["-x", ["x"]],
    ["\\sin(x)", ["x"]],
    ["(1,2]", ["1", "2"]],
    ["x=1<y", ["x", "1", "y"]],
    ["\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", ["1", "2", "3", "4"]],
    ["7", []],
  ];
  for (const [src, want] of rows) assert.deepEqual(children(parse(src)).map(nodeKey), want, src);
});
