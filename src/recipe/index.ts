// The recipe runner: run folders, cached resumable stages, the paper's tables.
export { RecipeSchema, loadRecipe, resolveRecipeObject, applyOverrides, seedOf, type Recipe, type RecipeInput } from "./schema.js";
export { canonicalJson, sha256File, sha256Json, sha256Text } from "./hash.js";
export { runStages, stageKey, readMarker, RunInterrupted, type Stage, type StageContext, type StageMarker, type StageOutcome, type RunStagesOptions } from "./framework.js";
export { planStages, canonicalOrder, sftOptions, paths as runPaths } from "./stages/index.js";
export { writeRecipeReport, paperTables, pairedDifference, formatPaperTables, textTable, type ArmResult, type MtsfArms, type RecipeResults } from "./report.js";
export { runRecipe, readArms, packageVersions, parameterRows, parameterTable, type RunRecipeOptions, type RunRecipeResult } from "./run.js";
