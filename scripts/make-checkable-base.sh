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
#
# The same script makes models/digits-base.gguf (recipes/demo-digits.json) and
# models/search-base.gguf (recipes/demo-search.json) with the settings of `npm run make:digits-base`
# and `npm run make:search-base`: env SKILLS, LEVELS, N_TRAIN, N_TEST, MAX_CHARS, SEQ_LEN, GEN_REPEAT
# (passes over the generation records), VERIFY_RECORDS (the first so many verification records;
# 0: all), INIT (phase 1 starts from this model instead of a new one), MODEL (the file written
# under models/), LOSS_WEIGHTING (token, the default, or example: each record's loss averaged
# first, so a verification label counts as much as a whole solution), LABEL_LOSS (word, the
# default: the loss of a verification record is on its whole label word and EOS; decision: on the
# letter that decides it, `c` or `i` of ` correct` / ` incorrect`, the rest of the word being
# predictable from it; phase 1's synthetic records only), MAX_TOKENS (the length bound of the phase-1 model's own samples). SEQ_LEN must hold the longest verification record (template, problem, candidate
# and label, in tokens), or those records are cut before their label and teach nothing; the
# trainer warns. The committed digits-base.gguf was made with SEQ_LEN=256, which cut 6,132 of its
# 24,000 verification records (models/README.md); a rebuild should use 320.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$here/runs/checkable-base}"
steps1="${STEPS1:-1800}"
steps2="${STEPS2:-500}"
own_problems="${OWN_PROBLEMS:-1200}"
own_n="${OWN_N:-4}"
max_tokens="${MAX_TOKENS:-160}"
skills="${SKILLS:-root,remainder,sum-product}"
levels="${LEVELS:-1,2,3}"
gen_repeat="${GEN_REPEAT:-3}"
verify_records="${VERIFY_RECORDS:-0}"
model="${MODEL:-checkable-base.gguf}"
cli=(node "$here/bin/mathtune.js")
world=(--n "${N_TRAIN:-3600}" --val 0 --test "${N_TEST:-900}" --seed 1 --levels "$levels" --skills "$skills" --max-chars "${MAX_CHARS:-192}" --quiet)
train=(--batch 16 --seq-len "${SEQ_LEN:-320}" --precision bf16 --val-fraction 0.01 --eval-every 100 --loss-weighting "${LOSS_WEIGHTING:-token}")
if [ -n "${INIT:-}" ]; then init=(--base "$INIT"); else init=(--size demo); fi

mkdir -p "$work"
if [ ! -f "$work/corpus1.jsonl" ]; then
  for style in terse detailed; do
    "${cli[@]}" data synth "${world[@]}" --style "$style" --out "$work/world-$style" --verification "$work/verify-synthetic.jsonl"
    "${cli[@]}" data sft --problems "$work/world-$style/train.jsonl" --out "$work/sft-$style.jsonl"
  done
  gen=("$work/sft-terse.jsonl" "$work/sft-detailed.jsonl")
  if [ "$verify_records" -gt 0 ]; then head -n "$verify_records" "$work/verify-synthetic.jsonl" > "$work/verify.tmp" && mv "$work/verify.tmp" "$work/verify-synthetic.jsonl"; fi
  for _ in $(seq "$gen_repeat"); do cat "${gen[@]}"; done > "$work/corpus1.tmp"
  if [ "${LABEL_LOSS:-word}" = decision ]; then
    # The loss of each verification record on the letter that decides its label only.
    node -e 'const rl = require("node:readline").createInterface({ input: process.stdin });
      rl.on("line", (l) => { const r = JSON.parse(l); r.loss_spans = [[1, 2]]; console.log(JSON.stringify(r)); });' < "$work/verify-synthetic.jsonl" >> "$work/corpus1.tmp"
  else
    cat "$work/verify-synthetic.jsonl" >> "$work/corpus1.tmp"
  fi
  mv "$work/corpus1.tmp" "$work/corpus1.jsonl"
fi

run_phase() { # out-dir, then the remaining train sft arguments
  local out="$1"; shift
  if [ -f "$out/model.gguf" ]; then echo "$out: done"; return; fi
  if [ -f "$out/config.json" ]; then "${cli[@]}" train sft "$@" --out "$out" --resume; else "${cli[@]}" train sft "$@" --out "$out"; fi
}

run_phase "$work/phase1" --data "$work/corpus1.jsonl" "${init[@]}" --steps "$steps1" --lr 0.002 --warmup 100 --seed 1 "${train[@]}"

# The phase-1 model's own solutions of training problems, graded, as verification records.
if [ ! -f "$work/verify-own.jsonl" ]; then
  head -n "$own_problems" "$work/world-detailed/train.jsonl" > "$work/own-problems.jsonl"
  "${cli[@]}" sample --model "$work/phase1/model.gguf" --data "$work/own-problems.jsonl" --out "$work/own-samples.jsonl" \
    --n "$own_n" --temperature 0.9 --top-p 0.95 --max-tokens "$max_tokens" --seed 7 --quiet
  "${cli[@]}" grade --samples "$work/own-samples.jsonl" --problems "$work/own-problems.jsonl" --out "$work/own-graded.jsonl"
  "${cli[@]}" evaluator-data --samples "$work/own-graded.jsonl" --problems "$work/own-problems.jsonl" --verification "$work/verify-own.jsonl"
fi
cat "$work/corpus1.jsonl" "$work/verify-own.jsonl" "$work/verify-own.jsonl" > "$work/corpus2.jsonl"

run_phase "$work/phase2" --data "$work/corpus2.jsonl" --base "$work/phase1/model.gguf" --steps "$steps2" --lr 0.0006 --warmup 50 --seed 2 "${train[@]}"

mkdir -p "$here/models"
cp "$work/phase2/model.gguf" "$here/models/$model"
sha256sum "$here/models/$model"
