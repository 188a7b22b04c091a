#!/usr/bin/env bash
# `make bazel-test`: every BUILD.bazel is fresh, then `bazel test //...` offline, every test run
# (no cached results), and the summary line (`Executed N out of N tests: N tests pass.`) last.
set -uo pipefail
cd "$(dirname "$0")/../.."
python3 tools/bazel/gen_build.py --check || exit 1
log=$(mktemp -t pyxie-bazel-test.XXXXXX)
trap 'rm -f "$log"' EXIT
bazel test //... --nocache_test_results "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
grep -E "^Executed [0-9]+ out of [0-9]+ tests?" "$log" | tail -n 1
exit "$status"
