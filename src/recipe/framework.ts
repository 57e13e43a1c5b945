/**
 * Stages of a run folder, cached by the hash of their inputs and resumable.
 *
 * A stage's key is the sha256 of its id, its version, its config slice and the sha256 of every
 * file it reads. Its marker `stages/<id>.json` is written (atomically) twice: `started` with the
 * key before the stage runs, `done` with the key and its outputs' hashes after every output is in
 * place. On a rerun:
 * - `done` with the same key and unchanged outputs: skipped (nothing is redone);
 * - `started` with the same key: the stage runs again with `resuming = true` and continues its own
 *   work (sampling skips what its file holds, training resumes from its last checkpoint);
 * - anything else (new key, outputs missing or edited): its outputs and work folders are removed
 *   and it starts over, because what it had was made from other inputs.
 * Keys are computed just before a stage runs, after the stages before it finished, so a stage whose
 * upstream produced different files reruns, and one whose upstream reran to the same bytes does not.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ErrorCode, MathtuneError } from "../errors.js";
import { writeFileAtomic } from "../util/fs.js";
import { appendJsonl } from "../util/jsonl.js";
import { formatDuration } from "../util/progress.js";
import { sha256File, sha256Json } from "./hash.js";

/** What a stage sees while it runs. */
export interface StageContext {
  /** The run folder (absolute). */
  readonly runDir: string;
  /** True when this stage was started before with the same key and did not finish: continue it. */
  readonly resuming: boolean;
  /** Absolute path of a run-folder file. */
  path(rel: string): string;
  /** Appends a record (tagged with the stage id and time) to the run's metrics.jsonl. */
  log(record: Record<string, unknown>): void;
  /** Prints one line of the run's output. */
  say(line: string): void;
  /** True once the user asked to stop (Ctrl-C); cooperative stages check it between units of work. */
  stopRequested(): boolean;
}

/** One stage of a recipe. */
export interface Stage {
  /** Unique id, e.g. `sft/detailed`; also the marker's name. */
  id: string;
  /** One line saying what it does. */
  title: string;
  /** Bump when the stage's code changes what it writes, so cached results are redone. */
  version?: number;
  /** The settings that shape its outputs (hashed into the key). */
  config: unknown;
  /** Run-folder files it reads (relative paths; hashed into the key). */
  inputs: string[];
  /** Files outside the run folder it reads (absolute: data files, a base model; hashed too). */
  externalInputs?: string[];
  /** Run-folder files it writes (relative); each must exist when it returns. */
  outputs: string[];
  /** Run-folder folders it works in besides its outputs (removed when it must start over). */
  workDirs?: string[];
  /**
   * How Ctrl-C stops it: "exit" ends the process at once (its own work is append-only or
   * disposable); "cooperative" lets it finish its unit of work and return (training saves a
   * checkpoint). Defaults to "exit".
   */
  interrupt?: "exit" | "cooperative";
  /** Does the work; returns a summary for metrics.jsonl and the marker. */
  run(ctx: StageContext): Promise<Record<string, unknown> | void>;
}

/** A stage's marker file. */
export interface StageMarker {
  id: string;
  key: string;
  status: "started" | "done";
  started: string;
  finished?: string;
  seconds?: number;
  /** Output file → sha256, size and mtime (mtime lets a rerun skip re-hashing unchanged files). */
  outputs?: Record<string, { sha256: string; size: number; mtimeMs: number }>;
  summary?: Record<string, unknown>;
}

/** Thrown when the user stopped the run (Ctrl-C): the run folder is consistent and resumable. */
export class RunInterrupted extends MathtuneError {
  constructor(stage: string) {
    super("E_INTERRUPTED", `stopped during stage ${stage}`, { hint: "rerun the same command to continue where it stopped" });
  }
}

/** What happened to each stage in one call of {@link runStages}. */
export interface StageOutcome {
  id: string;
  status: "ran" | "resumed" | "cached";
  seconds: number;
  summary?: Record<string, unknown>;
}

/** Options of {@link runStages}. */
export interface RunStagesOptions {
  /** Prints a line. Defaults to stderr. */
  say?: (line: string) => void;
  /** Install a SIGINT handler (Ctrl-C stops cleanly). Defaults to true. */
  handleSigint?: boolean;
  /** Test hook: called after a stage's `started` marker is written, before it runs. */
  beforeRun?: (stage: Stage, resuming: boolean) => void;
}

const markerPath = (runDir: string, id: string): string => join(runDir, "stages", `${id.replace(/\//g, "__")}.json`);

/** Reads a stage's marker, or undefined. */
export function readMarker(runDir: string, id: string): StageMarker | undefined {
  const p = markerPath(runDir, id);
  if (!existsSync(p)) return undefined;
  try {
    return JSON.parse(readFileSync(p, "utf8")) as StageMarker;
  } catch {
    // A marker is written atomically; an unreadable one was edited by hand: treat as absent.
    return undefined;
  }
}

function writeMarker(runDir: string, m: StageMarker): void {
  writeFileAtomic(markerPath(runDir, m.id), JSON.stringify(m, null, 2) + "\n");
}

/** The cache key of a stage given the current state of its input files. */
export function stageKey(runDir: string, stage: Stage): string {
  const files: Record<string, string> = {};
  for (const rel of stage.inputs) {
    const p = join(runDir, rel);
    if (!existsSync(p)) throw new MathtuneError(ErrorCode.io, `stage ${stage.id}: input ${rel} is missing from ${runDir}`, { hint: "a stage before it did not write it; rerun, or remove the run folder" });
    files[rel] = sha256File(p);
  }
  const external: Record<string, string> = {};
  for (const p of stage.externalInputs ?? []) {
    if (!existsSync(p)) throw new MathtuneError(ErrorCode.input, `stage ${stage.id}: ${p} does not exist`, { hint: "check the path in the recipe" });
    external[p] = statSync(p).isDirectory() ? "(folder)" : sha256File(p);
  }
  return sha256Json({ id: stage.id, version: stage.version ?? 1, config: stage.config ?? null, files, external });
}

/** True when every output recorded in the marker is present with the recorded content. */
function outputsIntact(runDir: string, m: StageMarker, stage: Stage): boolean {
  for (const rel of stage.outputs) {
    const rec = m.outputs?.[rel];
    const p = join(runDir, rel);
    if (!rec || !existsSync(p)) return false;
    const st = statSync(p);
    if (st.size !== rec.size) return false;
    if (st.mtimeMs !== rec.mtimeMs && sha256File(p) !== rec.sha256) return false;
  }
  return true;
}

function clearStage(runDir: string, stage: Stage): void {
  for (const rel of [...stage.outputs, ...(stage.workDirs ?? [])]) rmSync(join(runDir, rel), { recursive: true, force: true });
}

/**
 * Runs `stages` in order in `runDir` with the cache and resume rules of the file comment.
 * Throws {@link RunInterrupted} when stopped by Ctrl-C.
 */
export async function runStages(runDir: string, stages: readonly Stage[], options: RunStagesOptions = {}): Promise<StageOutcome[]> {
  const say = options.say ?? ((l: string) => process.stderr.write(l + "\n"));
  const ids = new Set<string>();
  for (const s of stages) {
    if (ids.has(s.id)) throw new MathtuneError(ErrorCode.usage, `stage ${s.id} listed twice`);
    ids.add(s.id);
  }
  mkdirSync(join(runDir, "stages"), { recursive: true });
  const metricsPath = join(runDir, "metrics.jsonl");
  const log = (stage: string, record: Record<string, unknown>): void =>
    appendJsonl(metricsPath, [{ time: new Date().toISOString(), stage, ...record }]);

  let current: Stage | undefined;
  let stop = false;
  const onSigint = (): void => {
    if (current?.interrupt === "cooperative" && !stop) {
      stop = true;
      say(`\nstopping after the current step of ${current.id} (Ctrl-C again to quit at once)`);
      return;
    }
    if (current) log(current.id, { event: "interrupted" });
    say(`\nstopped during ${current?.id ?? "start-up"}; rerun the same command to continue`);
    process.exit(130);
  };
  const handle = options.handleSigint ?? true;
  if (handle) process.on("SIGINT", onSigint);

  const outcomes: StageOutcome[] = [];
  try {
    for (let i = 0; i < stages.length; i++) {
      const stage = stages[i];
      current = stage;
      const head = `[${i + 1}/${stages.length}] ${stage.id}`;
      const key = stageKey(runDir, stage);
      const marker = readMarker(runDir, stage.id);
      if (marker?.status === "done" && marker.key === key && outputsIntact(runDir, marker, stage)) {
        say(`${head}: cached (inputs unchanged since ${marker.finished ?? "?"})`);
        log(stage.id, { event: "cached", key });
        outcomes.push({ id: stage.id, status: "cached", seconds: 0, ...(marker.summary ? { summary: marker.summary } : {}) });
        continue;
      }
      const resuming = marker?.status === "started" && marker.key === key;
      if (!resuming) clearStage(runDir, stage);
      const started = new Date().toISOString();
      writeMarker(runDir, { id: stage.id, key, status: "started", started: resuming ? marker.started : started });
      say(`${head}: ${stage.title}${resuming ? " (resuming)" : ""}`);
      log(stage.id, { event: resuming ? "resume" : "start", key });
      options.beforeRun?.(stage, resuming);
      const t0 = performance.now();
      const ctx: StageContext = {
        runDir,
        resuming,
        path: (rel) => join(runDir, rel),
        log: (r) => log(stage.id, r),
        say,
        stopRequested: () => stop,
      };
      let summary: Record<string, unknown> | undefined;
      try {
        summary = (await stage.run(ctx)) ?? undefined;
      } catch (err) {
        log(stage.id, { event: err instanceof RunInterrupted ? "interrupted" : "failed", message: err instanceof Error ? err.message : String(err) });
        throw err;
      }
      if (stop) {
        log(stage.id, { event: "interrupted" });
        throw new RunInterrupted(stage.id);
      }
      const outputs: NonNullable<StageMarker["outputs"]> = {};
      for (const rel of stage.outputs) {
        const p = join(runDir, rel);
        if (!existsSync(p)) throw new MathtuneError(ErrorCode.io, `stage ${stage.id} finished without writing ${rel}`);
        const st = statSync(p);
        outputs[rel] = { sha256: sha256File(p), size: st.size, mtimeMs: st.mtimeMs };
      }
      const seconds = (performance.now() - t0) / 1000;
      writeMarker(runDir, {
        id: stage.id,
        key,
        status: "done",
        started,
        finished: new Date().toISOString(),
        seconds: Math.round(seconds * 10) / 10,
        outputs,
        ...(summary ? { summary } : {}),
      });
      log(stage.id, { event: "done", seconds: Math.round(seconds * 10) / 10, ...(summary ?? {}) });
      say(`${head}: done in ${formatDuration(seconds)}`);
      outcomes.push({ id: stage.id, status: resuming ? "resumed" : "ran", seconds, ...(summary ? { summary } : {}) });
    }
  } finally {
    if (handle) process.off("SIGINT", onSigint);
  }
  return outcomes;
}
