/**
 * The generator prompt rendered through a GGUF model's own chat template, via node-llama-cpp.
 * Only the file's metadata is read (no weights are loaded); node-llama-cpp is imported lazily so
 * the plain prompt path (prompts.ts) never loads it.
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

/**
 * Renders the generator prompt for `problem` through the chat template of the GGUF file at
 * `modelPath` (an optional system turn, the user turn, then the start of the assistant turn).
 * A model without a chat template gets the plain generator prompt.
 */
export async function chatGeneratorPrompt(modelPath: string, problem: string, options: ChatPromptOptions = {}): Promise<ChatPrompt> {
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
  const plain = generatorPrompt(problem, options.plain);
  const tokenizerMeta = fileInfo.metadata.tokenizer as
    | { chat_template?: string; ggml?: { tokens?: readonly string[]; eos_token_id?: number; bos_token_id?: number } }
    | undefined;
  const template = tokenizerMeta?.chat_template;
  if (!template) {
    return { text: plain, llamaText: plain, wrapper: "plain", hasTemplate: false };
  }
  const tokens = tokenizerMeta?.ggml?.tokens;
  const tokenText = (id: number | undefined): string | undefined => (id === undefined || !tokens ? undefined : tokens[id]);
  const wrapper = llama.resolveChatWrapper({
    fileInfo,
    bosString: tokenText(tokenizerMeta?.ggml?.bos_token_id),
    warningLogs: false,
  });
  if (!wrapper) {
    return { text: plain, llamaText: plain, wrapper: "plain", hasTemplate: true };
  }
  const user = (options.userMessage ?? chatUserMessage)(problem);
  const chatHistory: Array<
    { type: "system"; text: string } | { type: "user"; text: string } | { type: "model"; response: string[] }
  > = [];
  if (options.systemPrompt !== undefined) chatHistory.push({ type: "system", text: options.systemPrompt });
  chatHistory.push({ type: "user", text: user }, { type: "model", response: [] });
  const state = wrapper.generateContextState({ chatHistory });
  const eos = tokenText(tokenizerMeta?.ggml?.eos_token_id);
  let text = "";
  for (const v of state.contextText.values) {
    if (typeof v === "string") text += v;
    else if (v instanceof llama.SpecialTokensText) text += v.value;
    else if (v.value === "NL") text += "\n";
    else if (v.value === "EOS" || v.value === "EOT") text += eos ?? "";
    // BOS (and SEP) are left to the tokenizer.
  }
  return { text, llamaText: state.contextText.toJSON(), wrapper: wrapper.wrapperName, hasTemplate: true };
}
