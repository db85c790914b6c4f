#!/usr/bin/env bash
# Issue 10's GPU check on a lent device machine (see bench/gpu_device.py): installs the wheels
# carried in .whl/ (what the device image lacks: bench/gpu_device_wheels.txt), then runs every
# step, output teed to $OUT.
set -o pipefail
OUT=${OUT:-var/gpu-device}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl 2>&1 | tail -3 | tee "$OUT/install.log" || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 NAUTILUS_VAR_DIR=/tmp/nbt-var
unset DATABASE_URL REDIS_URL
python3 bench/gpu_device.py --out "$OUT" "$@" 2>&1 | tee "$OUT/run.log"
