/**
 * An OpenAI-compatible HTTP server over a local GGUF model (`mathtune serve`), so models trained
 * here can be used by other tools: `GET /v1/models`, `POST /v1/completions` (with `n`, `seed`,
 * `stop`, `logprobs`, and `echo` for prompt log-probabilities) and `POST /v1/chat/completions`.
 * Log-probabilities are the model's full distribution, never truncated by top-k / top-p.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Token } from "node-llama-cpp";
import { z } from "zod";
import { MathtuneError, ErrorCode } from "../errors.js";
import type { LocalModel } from "./local.js";

/** Options of {@link startServer}. */
export interface ServeOptions {
  /** The model to serve. */
  model: LocalModel;
  /** Model name reported by `/v1/models` and accepted in requests. */
  name: string;
  /** Interface to listen on. Defaults to 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one. Defaults to 8080. */
  port?: number;
}

/** A running server. */
export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const stopSchema = z.union([z.string(), z.array(z.string()).max(8)]).optional().nullable();
const common = {
  model: z.string().optional(),
  n: z.number().int().min(1).max(256).default(1),
  temperature: z.number().min(0).max(10).default(1),
  top_p: z.number().gt(0).max(1).default(1),
  top_k: z.number().int().min(0).default(0),
  max_tokens: z.number().int().min(0).nullable().optional(),
  stop: stopSchema,
  seed: z.number().int().nullable().optional(),
  stream: z.boolean().optional(),
  ignore_eos: z.boolean().optional(),
};
const completionSchema = z.object({
  ...common,
  prompt: z.union([z.string(), z.array(z.string()).length(1)]),
  echo: z.boolean().default(false),
  logprobs: z.number().int().min(0).max(20).nullable().optional(),
});
const chatSchema = z.object({
  ...common,
  messages: z.array(z.object({ role: z.string(), content: z.string() })).min(1),
});

class BadRequest extends Error {}

function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 16 * 2 ** 20) throw new BadRequest("request body larger than 16 MiB");
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    throw new BadRequest("request body is not JSON");
  }
}

function parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const r = schema.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new BadRequest(`field ${i.path.join(".") || "(body)"}: ${i.message}`);
  }
  return r.data;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** OpenAI-style logprobs of `ids` (texts, log-probs, code-point offsets from `startOffset`). */
function logprobsBlock(model: LocalModel, ids: Token[], lps: Array<number | null>, startOffset: number): Record<string, unknown> {
  const { texts, offsets } = model.tokenPieces(ids, startOffset);
  return { tokens: texts, token_logprobs: lps, text_offset: offsets, top_logprobs: null };
}

/** Starts the server; resolves once it listens. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { model, name } = options;
  let counter = 0;
  const created = (): number => Math.floor(Date.now() / 1000);

  async function completion(body: z.infer<typeof completionSchema> | z.infer<typeof chatSchema>, chat: boolean): Promise<unknown> {
    if (body.model !== undefined && body.model !== name) throw new BadRequest(`unknown model ${JSON.stringify(body.model)}; this server serves ${JSON.stringify(name)}`);
    if (body.stream) throw new BadRequest("stream is not supported");
    const prompt = "messages" in body ? body.messages.map((m) => m.content).join("\n") : typeof body.prompt === "string" ? body.prompt : body.prompt[0];
    const maxTokens = body.max_tokens ?? (chat ? 256 : 16);
    const stop = body.stop === undefined || body.stop === null ? [] : typeof body.stop === "string" ? [body.stop] : body.stop;
    const seeds = body.seed === undefined || body.seed === null ? undefined : Array.from({ length: body.n }, (_, i) => (body.seed! + i) >>> 0);
    const promptIds = model.promptTokens(prompt);
    const generated =
      maxTokens > 0
        ? await model.generateWithIds(prompt, { n: body.n, temperature: body.temperature, topP: body.top_p, topK: body.top_k, maxTokens, stop, seeds, ignoreEos: body.ignore_eos })
        : Array.from({ length: body.n }, () => ({ completion: { text: "", tokens: 0, finish: "length" as const }, ids: [] as Token[] }));
    const completions = generated.map((g) => g.completion);
    const echo = !chat && "echo" in body && body.echo;
    const wantLogprobs = !chat && "logprobs" in body && body.logprobs !== undefined && body.logprobs !== null;
    const bos = model.model.tokens.bos;
    const hasBos = bos !== null && promptIds[0] === bos;
    const bare = hasBos ? promptIds.slice(1) : promptIds;
    let promptLps: Array<number | null> | undefined;
    if (echo && wantLogprobs) {
      promptLps = hasBos ? await model.tokenLogprobs([bos], bare) : [null, ...(bare.length > 1 ? await model.tokenLogprobs(bare, [], true) : [])];
    }
    const choices = await Promise.all(
      generated.map(async ({ completion: c, ids: genIds }, index) => {
        let logprobs: unknown = null;
        if (wantLogprobs) {
          const genLps = genIds.length > 0 ? await model.tokenLogprobs(promptIds, genIds) : [];
          const ids = echo ? [...bare, ...genIds] : genIds;
          const lps = echo ? [...(promptLps ?? []), ...genLps] : genLps;
          logprobs = logprobsBlock(model, ids, lps, echo ? 0 : codePointLength(prompt));
        }
        const text = echo ? prompt + c.text : c.text;
        return chat
          ? { index, message: { role: "assistant", content: c.text }, finish_reason: c.finish, logprobs: null }
          : { index, text, finish_reason: c.finish, logprobs };
      }),
    );
    const completionTokens = completions.reduce((a, c) => a + (c.tokens ?? 0), 0);
    return {
      id: `${chat ? "chatcmpl" : "cmpl"}-${Date.now().toString(36)}${(counter++).toString(36)}`,
      object: chat ? "chat.completion" : "text_completion",
      created: created(),
      model: name,
      choices,
      usage: { prompt_tokens: promptIds.length, completion_tokens: completionTokens, total_tokens: promptIds.length + completionTokens },
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0].replace(/\/+$/, "");
    try {
      if (req.method === "GET" && (path === "/v1/models" || path === "/models")) {
        send(res, 200, { object: "list", data: [{ id: name, object: "model", created: created(), owned_by: "mathtune" }] });
      } else if (req.method === "GET" && path === "/health") {
        send(res, 200, { status: "ok" });
      } else if (req.method === "POST" && (path === "/v1/completions" || path === "/completions")) {
        send(res, 200, await completion(parse(completionSchema, await readBody(req)), false));
      } else if (req.method === "POST" && (path === "/v1/chat/completions" || path === "/chat/completions")) {
        send(res, 200, await completion(parse(chatSchema, await readBody(req)), true));
      } else {
        send(res, 404, { error: { message: `no route ${req.method} ${path}`, type: "invalid_request_error" } });
      }
    } catch (err) {
      if (err instanceof BadRequest || (err instanceof MathtuneError && err.code === ErrorCode.input)) {
        send(res, 400, { error: { message: err.message, type: "invalid_request_error" } });
      } else {
        send(res, 500, { error: { message: (err as Error).message, type: "server_error" } });
      }
    }
  }

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new MathtuneError(ErrorCode.usage, `cannot listen on ${host}:${options.port ?? 8080} (${err.code ?? err.message})`, { cause: err })),
    );
    server.listen(options.port ?? 8080, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
