#!/usr/bin/env bash
# `make fuzz`: the stateful machines at RELIABILITY's deep profile, one brownie process (and node) per machine,
# JOBS at a time, and the property tests (the scenario loader's fuzz, the mirror's valuation) with a large random
# budget (tests/proptest.py: 40,000 examples per loader test, 20,000 for the mirror; no chain). Serially they take ~2.7 h (~88,000 steps at ~9 steps/s on Anvil); the machines are
# independent, so two cores take about half of that. Each machine's output goes to LOG_DIR/<file>.log; the
# step counts are summed at the end. Exit 0 only if every machine passes.
# Usage: tools/fuzz_machines.sh NETWORK JOBS [LOG_DIR]
set -u
network=$1
jobs=$2
log_dir=${3:-.toolchain/fuzz}
profile=${MARGINLAB_FUZZ:-deep}  # MARGINLAB_FUZZ=quick tools/fuzz_machines.sh anvil 2: a smoke test of this script
mkdir -p "$log_dir"
rm -f "$log_dir"/*.log "$log_dir"/*.rc "$log_dir"/*.progress
every=${FUZZ_PROGRESS_EVERY:-300}  # seconds between progress lines
start=$(date +%s)
# Longest first, so the last to start is a short one.
files=(test_liquidations.py test_hostile_donations.py test_core_accounting.py test_liquidation_policies.py properties
       test_machine_replay.py)
# The property tests `make fuzz` runs with random seeds (make test runs them derandomized).
property_tests=(tests/engine/test_scenario_fuzz.py tests/engine/test_mirror.py)

brownie compile > /dev/null  # settle build/ before several processes load it (see tools/test_lanes.sh)
echo "make fuzz: ${#files[@]} test files at the $profile profile, $jobs at a time, on $network; logs in $log_dir/"

run_one() {
    local file=$1
    echo "  started  $file ($(date +%H:%M:%S))"
    if [ "$file" = properties ]; then
        # A failure prints the falsifying input and a @reproduce_failure blob that replays it.
        MARGINLAB_FUZZ=$profile python -m pytest -p no:pytest-brownie -p no:cacheprovider -q \
            --hypothesis-show-statistics $PROPERTY_TESTS > "$log_dir/$file.log" 2>&1
        local rc=$?
        echo "$rc" > "$log_dir/$file.rc"
        echo "  finished $file ($(date +%H:%M:%S)): exit $rc"
        echo "    property examples run: $(property_examples "$log_dir/$file.log")"
        return
    fi
    MARGINLAB_FUZZ=$profile MARGINLAB_PROGRESS="$log_dir/$file.progress" brownie test "tests/stateful/$file" --network "$network" -q -p no:cacheprovider \
        > "$log_dir/$file.log" 2>&1
    local rc=$?
    echo "$rc" > "$log_dir/$file.rc"
    echo "  finished $file ($(date +%H:%M:%S)): exit $rc"
    grep -a 'stateful steps executed' "$log_dir/$file.log" | tail -1 | sed 's/^/    /'
}
# Examples hypothesis ran, summed over the property tests' statistics ("- N passing examples, M failing ...").
property_examples() {
    grep -aoE '[0-9]+ passing examples, [0-9]+ failing examples, [0-9]+ invalid examples' "$1" |
        awk '{ total += $1 + $4 + $7 } END { print total + 0 }'
}
# Progress: every `every` seconds, each running machine's latest status line (steps so far, per machine).
report_progress() {
    while sleep "$every"; do
        for progress in "$log_dir"/*.progress; do
            [ -e "$progress" ] || continue
            local file
            file=$(basename "$progress" .progress)
            [ -e "$log_dir/$file.rc" ] && continue
            echo "  progress $file ($(date +%H:%M:%S)): $(cat "$progress")"
        done
    done
}
report_progress &
reporter=$!
trap 'kill $reporter 2>/dev/null' EXIT
export -f run_one property_examples
export network log_dir profile
export PROPERTY_TESTS="${property_tests[*]}"
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}
kill $reporter 2>/dev/null

total=0
failed=0
for file in "${files[@]}"; do
    rc=$(cat "$log_dir/$file.rc" 2>/dev/null || echo 1)
    if [ "$file" = properties ]; then
        examples=$(property_examples "$log_dir/$file.log")
    else
        steps=$(grep -ao "stateful steps executed ($profile profile): [0-9]*" "$log_dir/$file.log" | tail -1 | grep -o '[0-9]*$')
        total=$((total + ${steps:-0}))
    fi
    if [ "$rc" -ne 0 ]; then
        failed=$((failed + 1))
        echo "================================ $file failed (exit $rc) ================================"
        cat "$log_dir/$file.log"
    fi
done
elapsed=$(( $(date +%s) - start ))
echo "make fuzz: $total stateful steps and ${examples:-0} property examples in $((elapsed / 60)) min $((elapsed % 60)) s;" \
     "$((${#files[@]} - failed)) of ${#files[@]} jobs passed (RELIABILITY's deep profile asks >= 75,000 steps)"
[ "$failed" -eq 0 ]
