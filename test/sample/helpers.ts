// Child processes of the CLI for tests that need a real server or a real sampling run.
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const entry = fileURLToPath(new URL("../model/cli-entry.ts", import.meta.url));

/** Spawns `mathtune ARGS` from source. */
export function spawnCli(args: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", entry, ...args], { stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs `mathtune ARGS` to completion. */
export function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawnCli(args);
    let out = "";
    let err = "";
    p.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    p.on("close", (code) => resolve({ code: code ?? 1, out, err }));
  });
}

/** A `mathtune serve` child process, resolved once it listens. */
export interface ServeProcess {
  url: string;
  port: number;
  proc: ChildProcess;
  /** Stops it (SIGKILL simulates a crash) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function startServe(model: string, port = 0, extra: string[] = []): Promise<ServeProcess> {
  return new Promise((resolve, reject) => {
    const proc = spawnCli(["serve", "--model", model, "--port", String(port), "--threads", "1", "--parallel", "4", ...extra]);
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 60_000);
    proc.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    proc.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /on (http:\/\/[^\s]+:(\d+))/.exec(out);
      if (m) {
        clearTimeout(timer);
        const stop = (signal: NodeJS.Signals = "SIGTERM"): Promise<void> =>
          new Promise((r) => {
            if (proc.exitCode !== null || proc.signalCode !== null) return r();
            proc.once("exit", () => r());
            proc.kill(signal);
          });
        resolve({ url: m[1], port: Number(m[2]), proc, stop });
      }
    });
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${err}`));
    });
  });
}
