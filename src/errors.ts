/**
 * The one error class of the project. `code` is for programs, `message` says what happened,
 * `hint` says what to do about it. The CLI prints `error: <message>` and `hint: <hint>`.
 */
export class MathtuneError extends Error {
  /** A stable machine-readable code, e.g. `E_INPUT`, `E_GGUF`, `E_NATIVE`. */
  readonly code: string;
  /** What the user can do about it, when there is something to say. */
  readonly hint?: string;

  constructor(code: string, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "MathtuneError";
    this.code = code;
    if (options.hint !== undefined) this.hint = options.hint;
  }
}

/** Error codes used across the project. */
export const ErrorCode = {
  /** Bad user input: a file, a line, a field. */
  input: "E_INPUT",
  /** Bad command-line usage. */
  usage: "E_USAGE",
  /** A GGUF file that cannot be read or is not a model the engine trains (llama, qwen2). */
  gguf: "E_GGUF",
  /** The native engine failed (a ggml abort in a child process, a missing library). */
  native: "E_NATIVE",
  /** A training run diverged (NaN or infinite loss). */
  diverged: "E_DIVERGED",
  /** An HTTP server answered something we cannot use. */
  server: "E_SERVER",
  /** A file-system operation failed. */
  io: "E_IO",
  /** The grading worker pool failed (a worker crashed or could not start): no grade is known. */
  grader: "E_GRADER",
} as const;

/** `file:line: message` error for a bad input record. */
export function inputError(file: string, line: number | undefined, message: string, hint?: string): MathtuneError {
  const where = line === undefined ? file : `${file}:${line}`;
  return new MathtuneError(ErrorCode.input, `${where}: ${message}`, hint === undefined ? {} : { hint });
}
