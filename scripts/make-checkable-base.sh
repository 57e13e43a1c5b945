#!/usr/bin/env bash
# Reproduces models/checkable-base.gguf, the base model of recipes/demo-checkable.json.
#
# The world: the checkable skills (root, remainder, sum-product; levels 1-3; docs/data.md), drawn
# with the demo's seed and length bound, 900 test problems drawn first and excluded from the
# 3,600 training problems, so no demo test problem (the demo uses the first 100-900) is in this
# corpus.
#
# The corpus is a mix of two tasks:
# - generation: every training problem with its terse and its detailed solution (an equal mix, so
#   neither SSFT arm of the demo starts from a model that favours its style), three times over;
# - verification: problems in the evaluator's template (the paper's) with a candidate solution and
#   the label word ` correct` / ` incorrect` as the completion. Positives are the world's solutions;
#   negatives are the world's honestly wrong guesses and slips carried through (phase 1), and in
#   phase 2 also the phase-1 model's own graded samples of training problems.
#
# Phase 1 trains from scratch (bf16 mixed precision); phase 2 continues from it on the phase-1
# corpus plus the model's own samples. Each phase resumes with --resume when rerun after an
# interruption (the script skips finished phases).
#
# Usage: scripts/make-checkable-base.sh [work-dir]   (env STEPS1, STEPS2, OWN_PROBLEMS, OWN_N override)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$here/runs/checkable-base}"
steps1="${STEPS1:-1800}"
steps2="${STEPS2:-500}"
own_problems="${OWN_PROBLEMS:-1200}"
own_n="${OWN_N:-4}"
cli=(node "$here/bin/mathtune.js")
world=(--n 3600 --val 0 --test 900 --seed 1 --levels 1,2,3 --skills root,remainder,sum-product --max-chars 192 --quiet)
train=(--batch 16 --seq-len 320 --precision bf16 --val-fraction 0.01 --eval-every 100)

mkdir -p "$work"
if [ ! -f "$work/corpus1.jsonl" ]; then
  for style in terse detailed; do
    "${cli[@]}" data synth "${world[@]}" --style "$style" --out "$work/world-$style" --verification "$work/verify-synthetic.jsonl"
    "${cli[@]}" data sft --problems "$work/world-$style/train.jsonl" --out "$work/sft-$style.jsonl"
  done
  gen=("$work/sft-terse.jsonl" "$work/sft-detailed.jsonl")
  cat "${gen[@]}" "${gen[@]}" "${gen[@]}" "$work/verify-synthetic.jsonl" > "$work/corpus1.tmp" && mv "$work/corpus1.tmp" "$work/corpus1.jsonl"
fi

run_phase() { # out-dir, then the remaining train sft arguments
  local out="$1"; shift
  if [ -f "$out/model.gguf" ]; then echo "$out: done"; return; fi
  if [ -f "$out/config.json" ]; then "${cli[@]}" train sft "$@" --out "$out" --resume; else "${cli[@]}" train sft "$@" --out "$out"; fi
}

run_phase "$work/phase1" --data "$work/corpus1.jsonl" --size demo --steps "$steps1" --lr 0.002 --warmup 100 --seed 1 "${train[@]}"

# The phase-1 model's own solutions of training problems, graded, as verification records.
if [ ! -f "$work/verify-own.jsonl" ]; then
  head -n "$own_problems" "$work/world-detailed/train.jsonl" > "$work/own-problems.jsonl"
  "${cli[@]}" sample --model "$work/phase1/model.gguf" --data "$work/own-problems.jsonl" --out "$work/own-samples.jsonl" \
    --n "$own_n" --temperature 0.9 --top-p 0.95 --max-tokens 160 --seed 7 --quiet
  "${cli[@]}" grade --samples "$work/own-samples.jsonl" --problems "$work/own-problems.jsonl" --out "$work/own-graded.jsonl"
  "${cli[@]}" evaluator-data --samples "$work/own-graded.jsonl" --problems "$work/own-problems.jsonl" --verification "$work/verify-own.jsonl"
fi
cat "$work/corpus1.jsonl" "$work/verify-own.jsonl" "$work/verify-own.jsonl" > "$work/corpus2.jsonl"

run_phase "$work/phase2" --data "$work/corpus2.jsonl" --base "$work/phase1/model.gguf" --steps "$steps2" --lr 0.0006 --warmup 50 --seed 2 "${train[@]}"

mkdir -p "$here/models"
cp "$work/phase2/model.gguf" "$here/models/checkable-base.gguf"
sha256sum "$here/models/checkable-base.gguf"
