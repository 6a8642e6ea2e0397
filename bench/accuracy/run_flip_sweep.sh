#!/bin/sh
# Device sweep of left-right flips on Fashion-MNIST: 8 processes x 2 threads, JSONL under $OUT.
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 PYTHONPATH=src PYTHONUNBUFFERED=1
PY=${PY:-python3}
i=0
for name in g1 g2 g3 g4 g5 g6 g7 g8; do
  timeout "${LIMIT:-200}" $PY bench/accuracy/sweep.py bench/accuracy/candidates-flip.json "$name" \
    "$OUT/$name.jsonl" .sweepdata 2>&1 | sed "s/^/[$name] /" &
  i=$((i + 1))
done
wait
