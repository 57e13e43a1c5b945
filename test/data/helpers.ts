import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Small committed fixtures of this area. */
export const FIXTURES = fileURLToPath(new URL("../fixtures/data/", import.meta.url));

/**
 * The shared data folder (../shared/data next to the repository), or MATHTUNE_SHARED_DATA;
 * null when absent, and tests that need it skip.
 */
export function sharedData(): string | null {
  const dir = process.env.MATHTUNE_SHARED_DATA ?? fileURLToPath(new URL("../../../shared/data/", import.meta.url));
  return existsSync(dir) ? dir : null;
}

export const SKIP_SHARED = "../shared/data is absent (set MATHTUNE_SHARED_DATA to run these)";
