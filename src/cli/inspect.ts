/** `mathtune inspect MODEL.gguf`: what is inside a GGUF model file. */
import type { Command } from "commander";
import { MathtuneError } from "../errors.js";
import { headDim, MODEL_ARCHS } from "../model/config.js";
import { configFromGguf, parameterCount } from "../model/checkpoint.js";
import { ggmlTypeName, metaArray, metaString, metaValue, readGguf, type GgufFile } from "../model/gguf.js";
import { CharTokenizer } from "../model/tokenizer.js";

/** A JSON-friendly summary of a GGUF model file. */
export interface ModelSummary {
  path: string;
  fileBytes: number;
  ggufVersion: number;
  architecture: string | null;
  name: string | null;
  /** The model config, or null when the file is not a model mathtune can train (see `unsupported`). */
  config: ReturnType<typeof configFromGguf> | null;
  /** Why a llama/qwen2 file cannot be trained here (e.g. YaRN scaling), or null. */
  unsupported: string | null;
  headDim: number | null;
  parameters: number;
  tensors: Array<{ name: string; type: string; shape: number[]; elements: number; bytes: number | null }>;
  tokenizer: {
    model: string | null;
    tokens: number;
    kind: "char" | "external" | "none";
    bosId: number | null;
    eosId: number | null;
    /** For our char vocabulary: the characters besides the 256 byte tokens. */
    characters: number | null;
  };
}

function optNumber(v: unknown): number | null {
  return typeof v === "number" ? v : null;
}

/** Summarises a parsed GGUF file. Other architectures are summarised too (config null). */
export function summarizeGguf(file: GgufFile): ModelSummary {
  const m = file.metadata;
  const arch = metaString(m, "general.architecture") ?? null;
  let config: ModelSummary["config"] = null;
  let unsupported: string | null = null;
  if (arch !== null && (MODEL_ARCHS as readonly string[]).includes(arch)) {
    try {
      config = configFromGguf(file);
    } catch (err) {
      if (!(err instanceof MathtuneError)) throw err;
      unsupported = err.message;
    }
  }
  const tokens = metaArray(m, "tokenizer.ggml.tokens");
  const tokModel = metaString(m, "tokenizer.ggml.model") ?? null;
  const charTok = CharTokenizer.fromGgufMetadata(m);
  return {
    path: file.path,
    fileBytes: file.fileSize,
    ggufVersion: file.version,
    architecture: arch,
    name: metaString(m, "general.name") ?? null,
    config,
    unsupported,
    headDim: config ? headDim(config) : null,
    parameters: file.tensors.reduce((a, t) => a + t.elements, 0),
    tensors: file.tensors.map((t) => ({ name: t.name, type: ggmlTypeName(t.type), shape: t.shape, elements: t.elements, bytes: t.bytes ?? null })),
    tokenizer: {
      model: tokModel,
      tokens: tokens?.length ?? 0,
      kind: charTok ? "char" : tokens ? "external" : "none",
      bosId: optNumber(metaValue(m, "tokenizer.ggml.bos_token_id")),
      eosId: optNumber(metaValue(m, "tokenizer.ggml.eos_token_id")),
      characters: charTok ? charTok.chars.length : null,
    },
  };
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** The human-readable report. */
export function formatSummary(s: ModelSummary): string {
  const lines: string[] = [];
  const row = (k: string, v: string | number): void => {
    lines.push(`${k.padEnd(22)} ${v}`);
  };
  row("file", `${s.path} (${(s.fileBytes / 2 ** 20).toFixed(2)} MiB, GGUF v${s.ggufVersion})`);
  row("architecture", s.architecture ?? "(missing)");
  if (s.name) row("name", s.name);
  if (s.config) {
    const c = s.config;
    row("layers", c.nLayers);
    row("d_model", c.dModel);
    row("heads (q / kv)", `${c.nHeads} / ${c.nKvHeads} (head dim ${s.headDim})`);
    row("ffn", c.ffnDim);
    row("context", c.contextLength);
    row("vocab", c.vocabSize);
    row("rms eps", c.rmsEps);
    const scaling = [c.ropeFreqScale !== undefined ? `linear scaling x${1 / c.ropeFreqScale}` : "", c.ropeFactors ? "llama3 factors (rope_freqs.weight)" : ""];
    row("rope", [`${c.arch === "qwen2" ? "neox" : "normal"}, base ${c.ropeFreqBase}`, ...scaling.filter((x) => x)].join(", "));
    row("q/k/v bias", c.qkvBias ? "yes" : "no");
    row("output", c.tiedOutput ? "tied to token_embd" : "separate output.weight");
    row("parameters", `${formatCount(s.parameters)} (${s.parameters}; trainable ${parameterCount(c)})`);
  } else {
    if (s.unsupported) row("trainable", `no: ${s.unsupported}`);
    row("parameters", `${formatCount(s.parameters)} (${s.parameters})`);
  }
  const t = s.tokenizer;
  const kind = t.kind === "char" ? `character vocabulary: ${t.characters} characters + 256 byte tokens + 3 specials` : t.kind;
  row("tokenizer", `${t.model ?? "(none)"}, ${t.tokens} tokens, ${kind}; bos ${t.bosId ?? "-"} eos ${t.eosId ?? "-"}`);
  lines.push("");
  const nameW = Math.max(4, ...s.tensors.map((x) => x.name.length));
  lines.push(`${"name".padEnd(nameW)}  ${"type".padEnd(7)}  shape (ne)`);
  for (const x of s.tensors) lines.push(`${x.name.padEnd(nameW)}  ${x.type.padEnd(7)}  [${x.shape.join(", ")}]`);
  return lines.join("\n");
}

export function register(program: Command): void {
  program
    .command("inspect")
    .description("show the architecture, sizes, tensors and tokenizer of a GGUF model")
    .argument("<model>", "GGUF model file")
    .option("--json", "print a JSON summary")
    .action((model: string, opts: { json?: boolean }) => {
      const summary = summarizeGguf(readGguf(model));
      process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummary(summary)}\n`);
    });
}
