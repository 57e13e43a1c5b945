/**
 * The HTTP backend: OpenAI-compatible `/v1/completions` and `/v1/chat/completions` servers
 * (vLLM, llama.cpp server, SGLang, `mathtune serve`). Bounded concurrency, timeouts, retries with
 * exponential backoff, `n` where the server honours it and fan-out otherwise, and prompt
 * log-probabilities through `echo` + `logprobs` where the server returns them.
 */
import { MathtuneError, ErrorCode } from "../errors.js";
import type { Completion, ContinuationLogprobs, GenerateOptions, Sampler, SamplerCapabilities, Scorer } from "./types.js";

/** Options of {@link HttpSampler.connect}. */
export interface HttpSamplerOptions {
  /** Server URL, e.g. `http://127.0.0.1:8080` (a trailing `/v1` is accepted). */
  url: string;
  /** The model name the server knows. Defaults to the first model of `/v1/models`. */
  model?: string;
  /** Which endpoint generates: the plain completions API or the chat API. Defaults to "completions". */
  api?: "completions" | "chat";
  /** Requests in flight at once. Defaults to 8. */
  concurrency?: number;
  /** Per-request timeout in milliseconds. Defaults to 300000. */
  timeoutMs?: number;
  /** Retries after a failed request (network error, timeout, 429, 5xx). Defaults to 4. */
  retries?: number;
  /** First backoff in milliseconds, doubled at each retry. Defaults to 500. */
  backoffMs?: number;
  /** Bearer token. Defaults to $OPENAI_API_KEY when set. */
  apiKey?: string;
  /** Skip the capability probe and use these. Defaults to probing the server. */
  capabilities?: Partial<ServerCapabilities>;
}

/** What a server supports, as found by {@link probeServer}. */
export interface ServerCapabilities {
  /** Model names from `/v1/models` (empty when the endpoint is missing). */
  models: string[];
  /** `n` > 1 returns n choices. */
  n: boolean;
  /** `seed` gives the same completion twice. */
  seed: boolean;
  /** `echo` + `logprobs` returns log-probabilities of the prompt tokens. */
  promptLogprobs: boolean;
  /** `/v1/chat/completions` answers. */
  chat: boolean;
}

function serverError(url: string, message: string, hint?: string): MathtuneError {
  return new MathtuneError(ErrorCode.server, `server ${url}: ${message}`, hint === undefined ? {} : { hint });
}

/**
 * A bounded-concurrency gate. A finishing task hands its slot straight to the first waiter, so a
 * caller that arrives between the release and the waiter's wake-up cannot take the slot too.
 */
export class Gate {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  /** Tasks running now. */
  get running(): number {
    return this.active;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    // The slot is counted for us by whoever wakes us (see release).
    else await new Promise<void>((r) => this.queue.push(r));
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private release(): void {
    const next = this.queue.shift();
    if (next !== undefined) next();
    else this.active--;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Low-level JSON client with timeouts and retries. */
export class OpenAiClient {
  readonly base: string;
  private readonly gate: Gate;

  constructor(
    url: string,
    private readonly options: Pick<HttpSamplerOptions, "concurrency" | "timeoutMs" | "retries" | "backoffMs" | "apiKey"> = {},
  ) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new MathtuneError(ErrorCode.usage, `invalid server URL ${JSON.stringify(url)}`, { hint: "e.g. http://127.0.0.1:8080" });
    }
    this.base = u.toString().replace(/\/+$/, "").replace(/\/v1$/, "");
    this.gate = new Gate(options.concurrency ?? 8);
  }

  /** GET or POST `path` (e.g. "/v1/completions"), parsed JSON; throws E_SERVER naming what failed. */
  request(path: string, body?: unknown, opts: { retries?: number; signal?: AbortSignal } = {}): Promise<unknown> {
    return this.gate.run(() => this.requestNow(path, body, opts));
  }

  private async requestNow(path: string, body: unknown, opts: { retries?: number; signal?: AbortSignal }): Promise<unknown> {
    const url = `${this.base}${path}`;
    const retries = opts.retries ?? this.options.retries ?? 4;
    const backoff = this.options.backoffMs ?? 500;
    const key = this.options.apiKey ?? process.env.OPENAI_API_KEY;
    let lastProblem = "";
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(backoff * 2 ** (attempt - 1) * (0.75 + Math.random() * 0.5));
      if (opts.signal?.aborted) throw serverError(url, "request aborted");
      const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 300_000);
      const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
      let res: Response;
      try {
        res = await fetch(url, {
          method: body === undefined ? "GET" : "POST",
          headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal,
        });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        lastProblem = timeout.aborted ? `no reply within ${this.options.timeoutMs ?? 300_000} ms` : `cannot connect (${e.cause?.code ?? e.message})`;
        if (opts.signal?.aborted) throw serverError(url, "request aborted");
        continue;
      }
      let text: string;
      try {
        text = await res.text();
      } catch (err) {
        lastProblem = `connection lost while reading the reply (${(err as Error).message})`;
        continue;
      }
      if (res.status === 429 || res.status >= 500) {
        lastProblem = `HTTP ${res.status}: ${text.slice(0, 200)}`;
        continue;
      }
      if (!res.ok) {
        let msg = text.slice(0, 300);
        try {
          const j = JSON.parse(text) as { error?: { message?: string } | string };
          msg = typeof j.error === "string" ? j.error : (j.error?.message ?? msg);
        } catch {
          // not JSON: keep the raw text
        }
        throw serverError(url, `HTTP ${res.status}: ${msg}`);
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw serverError(url, `malformed reply: not JSON (starts with ${JSON.stringify(text.slice(0, 80))})`, "is this an OpenAI-compatible server?");
      }
    }
    throw serverError(url, `${lastProblem} after ${retries + 1} attempts`, "check that the server is running and reachable");
  }
}

/** Checks that `v` is an object and returns it, or throws a malformed-reply error naming `what`. */
function obj(url: string, v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw serverError(url, `malformed reply: ${what} is not an object (got ${JSON.stringify(v)?.slice(0, 80)})`);
  return v as Record<string, unknown>;
}

function arr(url: string, v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw serverError(url, `malformed reply: ${what} is not an array (got ${JSON.stringify(v)?.slice(0, 80)})`);
  return v;
}

function finishOf(v: unknown): Completion["finish"] {
  return v === "length" ? "length" : "stop";
}

/** One parsed choice of a completions reply. */
interface Choice {
  index: number;
  text: string;
  finish: Completion["finish"];
  logprobs?: { tokens: string[]; tokenLogprobs: Array<number | null>; textOffset: number[] };
}

/** Parses a `/v1/completions` or `/v1/chat/completions` reply strictly. */
export function parseCompletionReply(url: string, reply: unknown, chat: boolean): { choices: Choice[]; completionTokens?: number } {
  const r = obj(url, reply, "the reply");
  const choices = arr(url, r.choices, "choices").map((c, i): Choice => {
    const o = obj(url, c, `choices[${i}]`);
    let text: unknown;
    if (chat) text = obj(url, o.message, `choices[${i}].message`).content;
    else text = o.text;
    if (typeof text !== "string") throw serverError(url, `malformed reply: choices[${i}].${chat ? "message.content" : "text"} is not a string (got ${JSON.stringify(text)?.slice(0, 80)})`);
    const choice: Choice = { index: typeof o.index === "number" ? o.index : i, text, finish: finishOf(o.finish_reason) };
    if (!chat && o.logprobs !== undefined && o.logprobs !== null) {
      const lp = obj(url, o.logprobs, `choices[${i}].logprobs`);
      const tokens = arr(url, lp.tokens, `choices[${i}].logprobs.tokens`);
      const tl = arr(url, lp.token_logprobs, `choices[${i}].logprobs.token_logprobs`);
      const off = lp.text_offset === undefined ? [] : arr(url, lp.text_offset, `choices[${i}].logprobs.text_offset`);
      if (tokens.some((t) => typeof t !== "string") || tl.some((x) => x !== null && typeof x !== "number") || tl.length !== tokens.length) {
        throw serverError(url, `malformed reply: choices[${i}].logprobs has tokens and token_logprobs of different lengths or types`);
      }
      choice.logprobs = { tokens: tokens as string[], tokenLogprobs: tl as Array<number | null>, textOffset: off as number[] };
    }
    return choice;
  });
  const usage = r.usage !== undefined && r.usage !== null ? obj(url, r.usage, "usage") : undefined;
  const ct = usage?.completion_tokens;
  return { choices: choices.sort((a, b) => a.index - b.index), completionTokens: typeof ct === "number" ? ct : undefined };
}

/**
 * Finds out what a server supports with a few one-token requests: `/v1/models`, `n: 2`, a repeated
 * seeded request, `echo` + `logprobs`, and the chat endpoint.
 */
export async function probeServer(url: string, options: { model?: string; timeoutMs?: number } = {}): Promise<ServerCapabilities> {
  const client = new OpenAiClient(url, { timeoutMs: options.timeoutMs ?? 60_000, retries: 1, backoffMs: 200 });
  let models: string[] = [];
  try {
    const r = obj(client.base, await client.request("/v1/models"), "the /v1/models reply");
    models = arr(client.base, r.data, "data").map((m) => String((m as { id?: unknown }).id));
  } catch (err) {
    // A connection failure means there is nothing to probe; other failures just mean no model list.
    if (err instanceof MathtuneError && /cannot connect|no reply/.test(err.message)) throw err;
  }
  const model = options.model ?? models[0] ?? "default";
  const completions = async (body: Record<string, unknown>): Promise<ReturnType<typeof parseCompletionReply> | undefined> => {
    try {
      return parseCompletionReply(client.base, await client.request("/v1/completions", { model, ...body }, { retries: 0 }), false);
    } catch {
      return undefined;
    }
  };
  const prompt = "1 + 1 =";
  const nReply = await completions({ prompt, n: 2, max_tokens: 2, temperature: 1, seed: 1 });
  const seeded = { prompt, n: 1, max_tokens: 8, temperature: 1, seed: 12345 };
  const a = await completions(seeded);
  const b = await completions(seeded);
  const echo = await completions({ prompt, max_tokens: 1, echo: true, logprobs: 0, temperature: 0 });
  let chat = false;
  try {
    parseCompletionReply(client.base, await client.request("/v1/chat/completions", { model, messages: [{ role: "user", content: prompt }], max_tokens: 1 }, { retries: 0 }), true);
    chat = true;
  } catch {
    chat = false;
  }
  const echoLp = echo?.choices[0]?.logprobs;
  return {
    models,
    n: (nReply?.choices.length ?? 0) === 2,
    seed: a !== undefined && b !== undefined && a.choices[0]?.text === b.choices[0]?.text,
    promptLogprobs: echoLp !== undefined && echoLp.tokens.length > 1 && echoLp.textOffset.length === echoLp.tokens.length,
    chat,
  };
}

/** Counts code points (OpenAI-style servers report text offsets in code points). */
function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Sampler and scorer over an OpenAI-compatible server. */
export class HttpSampler implements Sampler, Scorer {
  readonly capabilities: SamplerCapabilities;

  private constructor(
    private readonly client: OpenAiClient,
    readonly model: string,
    private readonly api: "completions" | "chat",
    readonly server: ServerCapabilities,
    concurrency: number,
  ) {
    this.capabilities = { nativeN: server.n, seeds: server.seed, promptLogprobs: server.promptLogprobs, maxConcurrency: concurrency };
  }

  /** Connects (probing capabilities unless given) and returns a sampler for `options.model`. */
  static async connect(options: HttpSamplerOptions): Promise<HttpSampler> {
    const concurrency = options.concurrency ?? 8;
    const client = new OpenAiClient(options.url, options);
    const given = options.capabilities;
    const probed =
      given?.n !== undefined && given.promptLogprobs !== undefined && given.seed !== undefined
        ? { models: [], chat: true, n: given.n, seed: given.seed, promptLogprobs: given.promptLogprobs, ...given }
        : { ...(await probeServer(options.url, { model: options.model, timeoutMs: options.timeoutMs })), ...given };
    const model = options.model ?? probed.models[0];
    if (model === undefined) throw serverError(client.base, "lists no model", "pass the model name (--model-name)");
    if (probed.models.length > 0 && !probed.models.includes(model)) {
      throw serverError(client.base, `has no model ${JSON.stringify(model)} (it serves ${probed.models.map((m) => JSON.stringify(m)).join(", ")})`);
    }
    return new HttpSampler(client, model, options.api ?? "completions", probed, concurrency);
  }

  async generate(prompt: string, options: GenerateOptions = {}): Promise<Completion[]> {
    const n = options.n ?? 1;
    const seeds = Array.from({ length: n }, (_, i) => options.seeds?.[i]);
    if (this.server.n && n > 1) return this.request(prompt, n, seeds[0], options);
    const parts = await Promise.all(seeds.map((seed) => this.request(prompt, 1, seed, options)));
    return parts.flat();
  }

  private async request(prompt: string, n: number, seed: number | undefined, options: GenerateOptions): Promise<Completion[]> {
    const chat = this.api === "chat";
    const body: Record<string, unknown> = {
      model: this.model,
      n,
      temperature: options.temperature ?? 1,
      top_p: options.topP ?? 1,
      max_tokens: options.maxTokens ?? 256,
      ...(options.topK ? { top_k: options.topK } : {}),
      ...(options.stop && options.stop.length > 0 ? { stop: options.stop } : {}),
      ...(seed !== undefined ? { seed } : {}),
      ...(options.ignoreEos ? { ignore_eos: true } : {}),
      ...(chat ? { messages: [{ role: "user", content: prompt }] } : { prompt }),
    };
    const path = chat ? "/v1/chat/completions" : "/v1/completions";
    const reply = parseCompletionReply(`${this.client.base}${path}`, await this.client.request(path, body, { signal: options.signal }), chat);
    if (reply.choices.length !== n) {
      throw serverError(`${this.client.base}${path}`, `malformed reply: asked for ${n} choices, got ${reply.choices.length}`);
    }
    return reply.choices.map((c) => ({
      text: c.text,
      tokens: c.logprobs?.tokens.length ?? (n === 1 ? reply.completionTokens : undefined),
      finish: c.finish,
      seed,
    }));
  }

  /**
   * Log-probabilities of `continuation` after `prompt` from the server's prompt log-probs
   * (`echo: true, logprobs: 0`): the tokens whose text starts at or after the end of the prompt.
   */
  async continuationLogprobs(prompt: string, continuation: string): Promise<ContinuationLogprobs> {
    const url = `${this.client.base}/v1/completions`;
    if (!this.server.promptLogprobs) {
      throw serverError(this.client.base, "does not return prompt log-probabilities (echo + logprobs), so it cannot score", "score with a local model or a server that supports echo (vLLM, mathtune serve)");
    }
    const reply = parseCompletionReply(
      url,
      await this.client.request("/v1/completions", { model: this.model, prompt: prompt + continuation, max_tokens: 1, echo: true, logprobs: 0, temperature: 0 }),
      false,
    );
    const lp = reply.choices[0]?.logprobs;
    if (lp === undefined || lp.textOffset.length !== lp.tokens.length) throw serverError(url, "malformed reply: choices[0].logprobs with text_offset missing");
    const start = codePointLength(prompt);
    const end = start + codePointLength(continuation);
    const tokens: string[] = [];
    const logprobs: number[] = [];
    for (let i = 0; i < lp.tokens.length; i++) {
      const off = lp.textOffset[i];
      if (off < start || off >= end) continue;
      const v = lp.tokenLogprobs[i];
      if (v === null) throw serverError(url, `malformed reply: no log-probability for prompt token ${i}`);
      tokens.push(lp.tokens[i]);
      logprobs.push(v);
    }
    // Byte-fallback tokens of a split character read as U+FFFD one by one; otherwise the pieces must spell the continuation.
    const joined = tokens.join("");
    if (tokens.length === 0 || (joined !== continuation && !joined.includes("\ufffd"))) {
      throw serverError(url, `the server's tokens of the continuation (${JSON.stringify(tokens.join(""))}) do not spell ${JSON.stringify(continuation)}; a token spans the prompt boundary`);
    }
    return { tokens, logprobs, total: logprobs.reduce((a, b) => a + b, 0) };
  }

  async close(): Promise<void> {
    // fetch keeps no per-sampler state to release.
  }
}
