// Writes docs/formats.md from the record schemas (src/data/formats.ts): npm run docs:formats
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { formatsMarkdown } from "../src/data/formats.js";

const out = fileURLToPath(new URL("../docs/formats.md", import.meta.url));
writeFileSync(out, formatsMarkdown());
console.log(`wrote ${out}`);
