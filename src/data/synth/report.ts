/**
 * The world's length self-check: characters of problem + newline + solution per level and style
 * (what a small model's context has to hold), printed by `mathtune data synth`.
 */
import { formatLengthTable, lengthSummary, type LengthSummary } from "../stats.js";
import { LEVELS, SKILLS, SYNTH_STYLES, type SynthItem } from "./world.js";

/** Length summaries keyed `L<level> <style>`, then `all <style>`. */
export function synthLengths(items: readonly SynthItem[], by: "level" | "skill" = "level"): Array<[string, LengthSummary]> {
  const rows: Array<[string, LengthSummary]> = [];
  const keys: ReadonlyArray<string | number> = by === "level" ? LEVELS : SKILLS;
  for (const k of keys) {
    for (const style of SYNTH_STYLES) {
      const sel = items.filter((it) => (by === "level" ? it.level : it.skill) === k);
      if (sel.length === 0) continue;
      rows.push([`${by === "level" ? `L${k}` : k} ${style}`, lengthSummary(sel.map((it) => it.problem.length + 1 + it[style].length))]);
    }
  }
  for (const style of SYNTH_STYLES) rows.push([`all ${style}`, lengthSummary(items.map((it) => it.problem.length + 1 + it[style].length))]);
  return rows;
}

/** The printed table. */
export function synthLengthReport(items: readonly SynthItem[]): string {
  return `problem + solution length (characters) by level and style:\n${formatLengthTable(synthLengths(items))}`;
}
