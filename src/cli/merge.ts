/** `mathtune merge`: a LoRA adapter merged into its base model, written as one GGUF model. */
import type { Command } from "commander";
import { mergeLoraGguf } from "../model/lora.js";
import { num } from "./options.js";

export function register(program: Command): void {
  program
    .command("merge")
    .description("merge a LoRA adapter into its base model (every base key and untargeted tensor kept as is)")
    .requiredOption("--base <gguf>", "the base model the adapter was trained on (F32, F16, BF16 or Q8_0)")
    .requiredOption("--lora <adapter>", "the LoRA adapter GGUF")
    .requiredOption("--out <gguf>", "the merged model to write")
    .option("--scale <x>", "adapter scale, as llama.cpp's (default 1)", num("--scale"))
    .action(async (o: { base: string; lora: string; out: string; scale?: number }) => {
      const n = await mergeLoraGguf({ base: o.base, lora: o.lora, out: o.out, ...(o.scale !== undefined ? { scale: o.scale } : {}) });
      process.stdout.write(`merged ${n} matrices of ${o.lora} into ${o.out}\n`);
    });
}
