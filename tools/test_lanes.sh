#!/usr/bin/env bash
# `make test`, the whole suite, in two lanes so that both cores of a CI runner work (each lane is one brownie
# process plus its node, about one core):
#   lane 1: unit, engine and toolchain tests on NETWORK, then the stateful machines at RELIABILITY's CI profile
#           (>= 3,000 steps) on Anvil
#   lane 2: integration tests (scenario replays, incidents, hostile tokens, mining and read modes) and the
#           stateful machines at the quick profile, on NETWORK
# (balanced on a 2-core machine: each lane took ~17-21 min while a third job ran)
# Lane 2 writes to a log that is printed when lane 1 ends. Exit 0 only if all three runs pass.
# Usage: tools/test_lanes.sh NETWORK [LOG_DIR]
set -u
network=$1
log_dir=${2:-.toolchain/test-lanes}
mkdir -p "$log_dir"
lane2_log=$log_dir/lane2.log
start=$(date +%s)

# brownie's first project load after a full compile prunes artifacts of unused dependencies (IERC20Permit,
# ...) from build/contracts; two processes loading at once then race (FileNotFoundError). Load it once here.
brownie compile > /dev/null

# Its own process group (set -m), so that an interrupt can stop lane 2 and the node it started.
set -m
brownie test tests/integration tests/stateful --network "$network" > "$lane2_log" 2>&1 &
lane2=$!
set +m
trap 'kill -TERM -- -"$lane2" 2>/dev/null' EXIT
trap 'exit 130' INT TERM
echo "make test: lane 2 (integration and quick stateful tests on $network) runs alongside; its output" \
     "($lane2_log) follows lane 1's"

brownie test tests/unit tests/engine tests/toolchain --network "$network"
rc_lane1=$?
MARGINLAB_FUZZ=ci brownie test tests/stateful --network anvil
rc_stateful=$?

if kill -0 "$lane2" 2>/dev/null; then echo "make test: lane 1 done; waiting for lane 2 ..."; fi
wait "$lane2"
rc_lane2=$?
trap - EXIT
echo
echo "=============================== lane 2: tests/integration tests/stateful on $network ==============================="
cat "$lane2_log"
echo
elapsed=$(( $(date +%s) - start ))
echo "make test: lane 1 (unit, engine, toolchain) exit $rc_lane1; stateful CI profile on anvil exit $rc_stateful;" \
     "lane 2 (integration, stateful quick) exit $rc_lane2;" \
     "$((elapsed / 60)) min $((elapsed % 60)) s"
[ "$rc_lane1" -eq 0 ] && [ "$rc_stateful" -eq 0 ] && [ "$rc_lane2" -eq 0 ]
