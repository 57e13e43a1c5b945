/**
 * The generator prompt rendered through a GGUF model's own chat template, via node-llama-cpp, and
 * the prompt formats of the project (`plain` | `chat`). Only the file's metadata is read (no
 * weights are loaded); node-llama-cpp is imported lazily so the plain prompt path (prompts.ts)
 * never loads it.
 */
import { MathtuneError, ErrorCode } from "../errors.js";
import { generatorPrompt, chatUserMessage, type GeneratorPromptOptions } from "./prompts.js";

export interface ChatPromptOptions {
  /** A system message put first; none when unset. Defaults to none. */
  systemPrompt?: string;
  /** How the user message is built from the problem. Defaults to chatUserMessage (CHAT_USER_TEMPLATE). */
  userMessage?: (problem: string) => string;
  /** Options of the plain prompt used when the model has no chat template. Defaults to none. */
  plain?: GeneratorPromptOptions;
}

export interface ChatPrompt {
  /**
   * The rendered prompt as text, special tokens written as their text (`<|im_start|>`); the
   * beginning-of-sequence token is left out, since tokenizers add it themselves.
   */
  text: string;
  /** node-llama-cpp's LlamaText JSON of the same prompt, to tokenize it exactly (special tokens kept). */
  llamaText: unknown;
  /** Which chat wrapper rendered it, or `plain` when the model has no chat template. */
  wrapper: string;
  /** Whether the model file has a chat template. */
  hasTemplate: boolean;
}

/** A model's chat template, resolved once and applied to many problems. */
export interface ChatTemplate {
  /** node-llama-cpp's name of the chat wrapper that renders the template (e.g. `ChatML`, `JinjaTemplate`). */
  wrapper: string;
  /**
   * The text that closes the assistant's turn (the template's end-of-turn token as text, e.g.
   * `<|im_end|>`); an SFT completion ends with it so that the fine-tuned model stops there.
   * Empty when the template closes the turn with the end-of-sequence token only.
   */
  endOfTurn: string;
  /** The prompt of `problem`: optional system turn, the user turn, then the opening of the assistant turn. */
  render(problem: string): { text: string; llamaText: unknown };
}

type NodeLlamaCpp = typeof import("node-llama-cpp");
type ChatHistory = Array<{ type: "system"; text: string } | { type: "user"; text: string } | { type: "model"; response: string[] }>;

async function readTemplateInfo(modelPath: string) {
  const llama = await import("node-llama-cpp");
  let fileInfo;
  try {
    fileInfo = await llama.readGgufFileInfo(modelPath, { readTensorInfo: false, logWarnings: false, sourceType: "filesystem" });
  } catch (err) {
    throw new MathtuneError(ErrorCode.gguf, `${modelPath}: cannot read GGUF metadata (${(err as Error).message})`, {
      hint: "pass a GGUF model file",
      cause: err,
    });
  }
  const tokenizerMeta = fileInfo.metadata.tokenizer as
    | { chat_template?: string; ggml?: { tokens?: readonly string[]; token_type?: readonly number[]; eos_token_id?: number; bos_token_id?: number } }
    | undefined;
  const tokens = tokenizerMeta?.ggml?.tokens;
  const types = tokenizerMeta?.ggml?.token_type;
  // Control and user-defined tokens (types 3 and 4): the special tokens a template writes as text.
  const controls = tokens && types ? tokens.filter((t, i) => types[i] === 3 || types[i] === 4) : [];
  const tokenText = (id: number | undefined): string | undefined => (id === undefined || !tokens ? undefined : tokens[id]);
  return {
    llama,
    fileInfo,
    template: tokenizerMeta?.chat_template,
    bos: tokenText(tokenizerMeta?.ggml?.bos_token_id),
    eos: tokenText(tokenizerMeta?.ggml?.eos_token_id),
    controls,
  };
}

/** LlamaText values as text: special tokens as their text, BOS (and SEP) left to the tokenizer. */
function valuesText(llama: NodeLlamaCpp, values: readonly unknown[], eos: string | undefined): string {
  let text = "";
  for (const v of values) {
    if (typeof v === "string") text += v;
    else if (v instanceof llama.SpecialTokensText) text += v.value;
    else if (v instanceof llama.SpecialToken) {
      if (v.value === "NL") text += "\n";
      else if (v.value === "EOS" || v.value === "EOT") text += eos ?? "";
    }
  }
  return text;
}

/**
 * The chat template of the GGUF file at `modelPath`, or null when the file has none (or
 * node-llama-cpp cannot resolve a wrapper for it).
 */
export async function openChatTemplate(modelPath: string, options: ChatPromptOptions = {}): Promise<ChatTemplate | null> {
  const { llama, fileInfo, template, bos, eos, controls } = await readTemplateInfo(modelPath);
  if (!template) return null;
  const wrapper = llama.resolveChatWrapper({ fileInfo, bosString: bos, warningLogs: false });
  if (!wrapper) return null;
  const history = (user: string, model: string[], more: ChatHistory = []): ChatHistory => [
    ...(options.systemPrompt !== undefined ? [{ type: "system" as const, text: options.systemPrompt }] : []),
    { type: "user", text: user },
    { type: "model", response: model },
    ...more,
  ];
  // The end of turn: the special token right after a finished model turn (one followed by another
  // user turn). node-llama-cpp joins adjacent special text, so the longest control token that
  // opens what follows the response is taken.
  const mark = "\u0001mathtune-end-of-turn\u0001";
  const closed = wrapper.generateContextState({ chatHistory: history("x", [mark], [{ type: "user", text: "y" }, { type: "model", response: [] }]) });
  const values = closed.contextText.values;
  let endOfTurn = "";
  const at = values.findIndex((v) => typeof v === "string" && v.includes(mark));
  if (at >= 0) {
    const head = values[at] as string;
    const rest = head.slice(head.indexOf(mark) + mark.length) + valuesText(llama, values.slice(at + 1), eos);
    for (const c of controls) if (c.length > endOfTurn.length && rest.startsWith(c)) endOfTurn = c;
  }
  const userMessage = options.userMessage ?? chatUserMessage;
  return {
    wrapper: wrapper.wrapperName,
    endOfTurn,
    render(problem: string) {
      const state = wrapper.generateContextState({ chatHistory: history(userMessage(problem), []) });
      return { text: valuesText(llama, state.contextText.values, eos), llamaText: state.contextText.toJSON() };
    },
  };
}

/**
 * Renders the generator prompt for `problem` through the chat template of the GGUF file at
 * `modelPath` (an optional system turn, the user turn, then the start of the assistant turn).
 * A model without a chat template gets the plain generator prompt.
 */
export async function chatGeneratorPrompt(modelPath: string, problem: string, options: ChatPromptOptions = {}): Promise<ChatPrompt> {
  const plain = generatorPrompt(problem, options.plain);
  const { template } = await readTemplateInfo(modelPath);
  const chat = template ? await openChatTemplate(modelPath, options) : null;
  if (!chat) return { text: plain, llamaText: plain, wrapper: "plain", hasTemplate: Boolean(template) };
  return { ...chat.render(problem), wrapper: chat.wrapper, hasTemplate: true };
}

/** The generator prompt formats: `plain` (GENERATOR_TEMPLATE or a given template) or `chat` (the model's chat template). */
export const PROMPT_FORMATS = ["plain", "chat"] as const;
export type PromptFormat = (typeof PROMPT_FORMATS)[number];

/** How generator prompts are written, resolved for one model: what sampling, scoring and SFT data use. */
export interface GeneratorFormat {
  format: PromptFormat;
  /** `plain`, or the chat wrapper's name. */
  wrapper: string;
  /** Whether prompts hold special tokens as text (`<|im_start|>`), to be tokenized as those tokens. */
  specialTokens: boolean;
  /** Text that ends an SFT completion (the chat template's end of turn); empty for `plain`. */
  endOfTurn: string;
  /** The generator prompt of a problem. */
  prompt(problem: string): string;
}

/** Options of {@link resolveGeneratorFormat}. */
export interface GeneratorFormatOptions {
  /** The plain format's template with `{problem}` (not allowed with `chat`). Defaults to GENERATOR_TEMPLATE. */
  template?: string;
  /** The chat format's system turn. Defaults to none. */
  systemPrompt?: string;
}

/** The plain format with an optional template. */
export function plainGeneratorFormat(template?: string): GeneratorFormat {
  return {
    format: "plain",
    wrapper: "plain",
    specialTokens: false,
    endOfTurn: "",
    prompt: (problem) => generatorPrompt(problem, template === undefined ? {} : { template }),
  };
}

/**
 * Resolves a prompt format for the model at `modelPath` (whose chat template `chat` applies).
 * `chat` on a model without a chat template, or without a model, is a MathtuneError with a hint.
 */
export async function resolveGeneratorFormat(format: string, modelPath: string | undefined, options: GeneratorFormatOptions = {}): Promise<GeneratorFormat> {
  if (format === "plain") {
    if (options.systemPrompt !== undefined) {
      throw new MathtuneError(ErrorCode.usage, "a system prompt needs the chat prompt format", { hint: "add --prompt-format chat (recipe: promptFormat \"chat\")" });
    }
    return plainGeneratorFormat(options.template);
  }
  if (format !== "chat") {
    throw new MathtuneError(ErrorCode.usage, `unknown prompt format ${JSON.stringify(format)}`, { hint: `choose from ${PROMPT_FORMATS.join(", ")}` });
  }
  if (options.template !== undefined) {
    throw new MathtuneError(ErrorCode.usage, "a generator prompt template applies to the plain prompt format only", {
      hint: "with the chat format the user turn is CHAT_USER_TEMPLATE inside the model's chat template; drop the template",
    });
  }
  if (modelPath === undefined) {
    throw new MathtuneError(ErrorCode.usage, "the chat prompt format needs a local GGUF model whose chat template it applies", { hint: "pass --model BASE.gguf (recipe: model.base)" });
  }
  const chat = await openChatTemplate(modelPath, options.systemPrompt === undefined ? {} : { systemPrompt: options.systemPrompt });
  if (chat === null) {
    throw new MathtuneError(ErrorCode.input, `${modelPath}: the model has no chat template (tokenizer.chat_template), so the chat prompt format cannot be applied`, {
      hint: "use the plain prompt format (--prompt-format plain), or a base model whose GGUF carries tokenizer.chat_template",
    });
  }
  return {
    format: "chat",
    wrapper: chat.wrapper,
    specialTokens: true,
    endOfTurn: chat.endOfTurn,
    prompt: (problem) => chat.render(problem).text,
  };
}
