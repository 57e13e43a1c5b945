/** `mathtune serve`: an OpenAI-compatible server over a local GGUF model. */
import { basename } from "node:path";
import type { Command } from "commander";
import { num } from "./sample.js";
import { contextsOption, kvCacheOption } from "./options.js";

export function register(program: Command): void {
  program
    .command("serve")
    .description("serve a GGUF model over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions)")
    .requiredOption("--model <gguf>", "GGUF model file")
    .option("--lora <adapter>", "LoRA adapter GGUF applied to the local model (e.g. adapter.gguf of train --lora-rank)")
    .option("--port <p>", "port (0: any free port)", num("port", { int: true, min: 0, max: 65535 }), 8080)
    .option("--host <h>", "interface to listen on", "127.0.0.1")
    .option("--name <name>", "model name clients use (default: the file name without .gguf)")
    .option("--threads <t>", "llama.cpp threads (default: cores - 1)", num("threads", { int: true, min: 1 }))
    .option("--parallel <p>", "sequences decoded in parallel", num("parallel", { int: true, min: 1 }), 4)
    .addOption(kvCacheOption())
    .addOption(contextsOption())
    .action(async (o: { model: string; port: number; host: string; name?: string; threads?: number; parallel: number; kvCache: "f32" | "f16"; contexts?: number; lora?: string }) => {
      const { LocalModel } = await import("../sample/local.js");
      const { startServer } = await import("../sample/server.js");
      const model = await LocalModel.open(o.model, { threads: o.threads, parallel: o.parallel, contexts: o.contexts, kvCache: o.kvCache, ...(o.lora !== undefined ? { lora: o.lora } : {}) });
      const name = o.name ?? basename(o.model).replace(/\.gguf$/i, "");
      const server = await startServer({ model, name, host: o.host, port: o.port });
      process.stdout.write(`serving ${name} on ${server.url} (threads ${model.threads}, ${o.parallel} parallel sequences)\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
          resolve();
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      });
      await server.close();
      await model.close();
    });
}
