#!/usr/bin/env bash
# Runs mapfile's whole test suite: every test under Bazel (the primary build),
# then the same tests under CMake.
#
#   bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bazel test //...

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMAPFILE_BUILD_BENCHMARKS=ON
cmake --build build
ctest --test-dir build --output-on-failure
