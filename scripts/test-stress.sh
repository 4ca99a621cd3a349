#!/usr/bin/env bash
# `npm run test:stress`: the whole suite (`npm test`) with a CPU hog beside it, STRESS_RUNS times in
# a row (default 3), stopping at the first failure. A test that passes only on an idle machine has
# a race (a missing wait, a shared port or queue, an order dependency): this finds it here rather
# than on CI. STRESS_CPUS busy-loop processes (default 1) take that many cores' worth of CPU.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${STRESS_RUNS:-3}
cpus=${STRESS_CPUS:-1}
hogs=()
stop_hogs() { [ ${#hogs[@]} -eq 0 ] || kill "${hogs[@]}" 2>/dev/null; }
trap stop_hogs EXIT

for _ in $(seq "$cpus"); do
  node -e 'for (;;) {}' &
  hogs+=($!)
done
echo "test:stress: ${cpus} busy-loop process(es) running: ${hogs[*]}"

for run in $(seq "$runs"); do
  echo "==> test:stress run ${run}/${runs}"
  if ! npm test; then
    echo "test:stress: run ${run}/${runs} failed"
    exit 1
  fi
done
echo "test:stress: ${runs}/${runs} runs passed under load"
