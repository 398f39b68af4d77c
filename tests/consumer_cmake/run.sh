#!/usr/bin/env bash
# Installs mapfile into a temporary prefix, builds tests/consumer_cmake
# against it with find_package(mapfile), and runs the result.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cmake -S "$root" -B "$work/build" -G Ninja -DMAPFILE_BUILD_TESTS=OFF \
  -DMAPFILE_BUILD_TOOLS=OFF -DCMAKE_INSTALL_PREFIX="$work/prefix"
cmake --build "$work/build"
cmake --install "$work/build"
cmake -S "$root/tests/consumer_cmake" -B "$work/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix"
cmake --build "$work/consumer"
"$work/consumer/consumer" "$work/consumer.vec"
# pkg-config sees the same install.
PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/prefix/lib/x86_64-linux-gnu/pkgconfig" \
  pkg-config --exists --print-errors mapfile
