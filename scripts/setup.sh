#!/usr/bin/env bash
# Installs everything mapfile needs on Debian 12 / Ubuntu 22.04+ (idempotent),
# then builds and runs the demo: a typed vector in a file, written, synced,
# reopened and printed, and `mapfile info` on that file.
#
#   sudo bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # builds: Bazel 4.2.3 from Debian (offline, see WORKSPACE) and CMake
  bazel-bootstrap bazel-platforms cmake ninja-build pkg-config g++
  # sanitizer runs use clang
  clang libclang-rt-14-dev
  # libraries
  libabsl-dev libzstd-dev libxxhash-dev libgtest-dev libgmock-dev
  libbenchmark-dev libcli11-dev nlohmann-json3-dev
  # peers the benchmarks compare against
  liblmdb-dev libleveldb-dev libboost-dev
  # the Python reader (python/) and its tests
  python3-venv python3-pip python3-setuptools python3-wheel python3-numpy
  python3-xxhash python3-zstandard python3-pytest
  # the reliability suite's independent fault injector (fiu-run)
  fiu-utils libfiu-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

# The demo: three typed records written, synced, reopened and printed; then
# the mapfile tool describes the file it made.
demo="${TMPDIR:-/tmp}/mapfile-demo.vec"
rm -f "$demo"  # a fresh file each run, so the output is the same
quiet=(--noshow_progress --ui_event_filters=-info,-stdout,-stderr)
bazel build "${quiet[@]}" //examples:vector_demo //tools:mapfile
bazel-bin/examples/vector_demo "$demo"
bazel-bin/tools/mapfile info "$demo"
