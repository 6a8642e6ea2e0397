#!/bin/sh
# Device sweep: 8 processes x 2 threads, one JSONL file each under $OUT.
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2 PYTHONPATH=src PYTHONUNBUFFERED=1
PY=${PY:-python3}
$PY -c 'import numpy; print("numpy", numpy.__version__)'; nproc
i=0
for names in f1 f2 f3 f4 f5 f6 m1,m2 m3,m4; do
  timeout "${LIMIT:-500}" $PY bench/accuracy/sweep.py bench/accuracy/candidates.json "$names" "$OUT/p$i.jsonl" .sweepdata 2>&1 | sed "s/^/[$names] /" &
  i=$((i + 1))
done
wait
