/** `mathtune doctor`: checks the local llama.cpp runtime, and probes a server's capabilities. */
import { availableParallelism, cpus, totalmem } from "node:os";
import type { Command } from "commander";

function row(k: string, v: string): string {
  return `${k.padEnd(26)} ${v}\n`;
}

export function register(program: Command): void {
  program
    .command("doctor")
    .description("check the local llama.cpp runtime; with --server, probe what an OpenAI-compatible server supports")
    .option("--server <url>", "server to probe")
    .option("--model-name <name>", "model name on the server (default: its first model)")
    .option("--json", "print JSON")
    .action(async (o: { server?: string; modelName?: string; json?: boolean }) => {
      const report: Record<string, unknown> = {};
      let text = "";
      if (o.server !== undefined) {
        const { probeServer } = await import("../sample/http.js");
        const caps = await probeServer(o.server, { model: o.modelName });
        report.server = { url: o.server, ...caps };
        const yes = (b: boolean): string => (b ? "yes" : "no");
        text += row("server", o.server);
        text += row("models", caps.models.length > 0 ? caps.models.join(", ") : "(no /v1/models list)");
        text += row("n > 1 in one request", `${yes(caps.n)}${caps.n ? "" : " (sampling fans out one request per sample)"}`);
        text += row("seed reproduces", yes(caps.seed));
        text += row("prompt log-probs (echo)", `${yes(caps.promptLogprobs)}${caps.promptLogprobs ? "" : " (scoring over this server is not possible)"}`);
        text += row("chat endpoint", yes(caps.chat));
      } else {
        const { defaultThreads, getLlamaCpu } = await import("../sample/llama.js");
        const t0 = performance.now();
        const llama = await getLlamaCpu();
        const loadMs = performance.now() - t0;
        report.local = {
          cores: availableParallelism(),
          cpu: cpus()[0]?.model ?? "unknown",
          memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
          defaultThreads: defaultThreads(),
          llamaCpp: { gpu: llama.gpu, buildType: llama.buildType, cpuMathCores: llama.cpuMathCores, loadMs: Math.round(loadMs) },
        };
        text += row("cpu", `${cpus()[0]?.model ?? "unknown"} (${availableParallelism()} cores)`);
        text += row("memory", `${(totalmem() / 2 ** 30).toFixed(1)} GiB`);
        text += row("llama.cpp", `loaded in ${loadMs.toFixed(0)} ms (${llama.buildType} build, gpu: ${String(llama.gpu)})`);
        text += row("default threads", `sampling ${defaultThreads()} (cores - 1: the ggml pool spin-waits; leave Node a core); training ${Math.max(1, availableParallelism() - 1)} or ${availableParallelism()}, chosen step by step`);
      }
      process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : text);
    });
}
