import cliProgress from "cli-progress";

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** What is being counted, shown before the bar, e.g. "train" or "sample". */
  label: string;
  /** The total count of units. */
  total: number;
  /** Seconds between plain lines when stderr is not a terminal. Defaults to 10. */
  plainIntervalSeconds?: number;
  /** Where to write. Defaults to process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Print nothing at all. Defaults to false. */
  silent?: boolean;
}

/** A progress display: a bar on a terminal, a periodic plain line otherwise. */
export interface Progress {
  /** Sets the count done and extra fields shown after the bar (e.g. `{loss: "2.31", "tok/s": "1200"}`). */
  update(done: number, fields?: Record<string, string | number>): void;
  /** Finishes the display (prints a final line when not on a terminal). */
  stop(): void;
}

/** Formats seconds as `1h02m`, `3m05s` or `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

function formatFields(fields: Record<string, string | number>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${k} ${v}`)
    .join(" | ");
}

/** Creates a progress display; see {@link ProgressOptions}. */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const start = Date.now();
  let lastFields: Record<string, string | number> = {};
  let lastDone = 0;
  if (options.silent) return { update() {}, stop() {} };
  const eta = (done: number): string => {
    const elapsed = (Date.now() - start) / 1000;
    if (done <= 0) return "?";
    return formatDuration((elapsed / done) * (options.total - done));
  };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${options.label} [{bar}] {value}/{total} | {fields} | ETA {etaText}`,
        barsize: 24,
        stream,
        hideCursor: false,
        clearOnComplete: false,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(options.total, 0, { fields: "", etaText: "?" });
    return {
      update(done, fields) {
        if (fields) lastFields = fields;
        bar.update(done, { fields: formatFields(lastFields), etaText: eta(done) });
      },
      stop() {
        bar.stop();
      },
    };
  }
  const interval = (options.plainIntervalSeconds ?? 10) * 1000;
  let lastPrint = 0;
  const line = (done: number, final: boolean): void => {
    const elapsed = formatDuration((Date.now() - start) / 1000);
    const tail = final ? `done in ${elapsed}` : `elapsed ${elapsed} | ETA ${eta(done)}`;
    const f = formatFields(lastFields);
    stream.write(`${options.label} ${done}/${options.total}${f ? " | " + f : ""} | ${tail}\n`);
  };
  return {
    update(done, fields) {
      if (fields) lastFields = fields;
      lastDone = done;
      const now = Date.now();
      if (now - lastPrint >= interval) {
        lastPrint = now;
        line(done, false);
      }
    },
    stop() {
      line(lastDone, true);
    },
  };
}
