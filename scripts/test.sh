#!/usr/bin/env bash
# Runs mapfile's whole test suite: every test under Bazel (the primary build),
# then the same tests under CMake, then the Python reader's tests (python/)
# against files the C++ library writes, in a fresh venv.
#
#   bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bazel test //...

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMAPFILE_BUILD_BENCHMARKS=ON
cmake --build build
ctest --test-dir build --output-on-failure

# The Python package, installed as users install it (offline: numpy, and
# xxhash/zstandard when present, come from the system's packages), tested
# against the C++ writer and CLI that Bazel built.
bazel build //tests:sample_writer //tools:mapfile
venv="$(mktemp -d)"
trap 'rm -rf "$venv"' EXIT
/usr/bin/python3 -m venv --system-site-packages "$venv/v"
"$venv/v/bin/pip" install --quiet --no-build-isolation --no-index ./python
rm -rf python/build python/mapfile.egg-info
(cd "$venv" &&
  MAPFILE_SAMPLE_WRITER="$OLDPWD/bazel-bin/tests/sample_writer" \
  MAPFILE_CLI="$OLDPWD/bazel-bin/tools/mapfile" \
  "$venv/v/bin/python" -m pytest -q -p no:cacheprovider "$OLDPWD/python/tests")
