#!/usr/bin/env bash
# Reproduces models/demo-base.gguf, the base model the demo recipe fine-tunes.
#
# The base is "pretrained" on the synthetic world's own training problems, each with both its
# terse and its detailed solution (an equal mix), so that neither SSFT arm of the demo starts from
# a model that favours its style. The world is drawn with the demo's seed, levels, skills and
# length bound and with 500 test problems: the test split is drawn first and the training split
# excludes it, so no demo test problem (the demo uses the first 100; up to 500 keep this) is in
# this corpus.
#
# Training runs in two phases on the same corpus: 2,400 steps from scratch (peak lr 2e-3), then
# 1,500 more steps from that model (peak lr 6e-4, another data order). About 65-75 minutes on two
# CPU cores. The committed file was made by these commands; a rerun was not compared with it bit
# for bit (the training engine is deterministic for a given thread count in the project's tests).
#
# Usage: scripts/make-demo-base.sh [work-dir]   (env STEPS, STEPS2, THREADS override the defaults)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$here/runs/demo-base}"
steps="${STEPS:-2400}"
steps2="${STEPS2:-1500}"
threads="${THREADS:-2}"
cli=(node "$here/bin/mathtune.js")
world=(--n 20000 --val 0 --test 500 --seed 1 --levels 1,2,3
  --skills arithmetic,fractions,linear,modular,gcd-lcm,expression --max-chars 160 --quiet)

mkdir -p "$work"
for style in terse detailed; do
  "${cli[@]}" data synth "${world[@]}" --style "$style" --out "$work/world-$style"
  "${cli[@]}" data sft --problems "$work/world-$style/train.jsonl" --out "$work/sft-$style.jsonl"
done
cat "$work/sft-terse.jsonl" "$work/sft-detailed.jsonl" > "$work/sft-both.jsonl"
"${cli[@]}" train sft --data "$work/sft-both.jsonl" --size demo --steps "$steps" --batch 16 \
  --seq-len 192 --lr 0.002 --warmup 100 --threads "$threads" --seed 1 --eval-every 200 --val-fraction 0.01 --out "$work/train"
"${cli[@]}" train sft --data "$work/sft-both.jsonl" --base "$work/train/model.gguf" --steps "$steps2" --batch 16 \
  --seq-len 192 --lr 0.0006 --warmup 50 --threads "$threads" --seed 2 --eval-every 200 --val-fraction 0.01 --out "$work/train2"
mkdir -p "$here/models"
cp "$work/train2/model.gguf" "$here/models/demo-base.gguf"
sha256sum "$here/models/demo-base.gguf"
