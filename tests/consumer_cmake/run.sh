#!/usr/bin/env bash
# Installs mapfile into a temporary prefix, then uses it as README.md says:
# builds tests/consumer_cmake with find_package(mapfile) against the static
# and the shared library, and compiles, links and runs a program with the
# README's pkg-config line, word for word.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cmake -S "$root" -B "$work/build" -G Ninja -DMAPFILE_BUILD_TESTS=OFF \
  -DMAPFILE_BUILD_TOOLS=OFF -DMAPFILE_BUILD_EXAMPLES=OFF \
  -DCMAKE_INSTALL_PREFIX="$work/prefix"
cmake --build "$work/build"
cmake --install "$work/build"
libdir=""
for d in "$work/prefix/lib/x86_64-linux-gnu" "$work/prefix/lib64" "$work/prefix/lib"; do
  if [[ -z $libdir && -e $d/libmapfile.a ]]; then libdir="$d"; fi
done
test -e "$libdir/libmapfile.a"
test -L "$libdir/libmapfile.so"
objdump -p "$libdir/libmapfile.so" | grep -q 'SONAME *libmapfile.so.0$'

cmake -S "$root/tests/consumer_cmake" -B "$work/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix"
cmake --build "$work/consumer"
"$work/consumer/consumer" "$work/static.vec"
# The shared one finds libmapfile.so through the RUNPATH CMake gave it.
ldd "$work/consumer/consumer_shared" | grep -q "$libdir/libmapfile.so.0"
"$work/consumer/consumer_shared" "$work/shared.vec"

# The README's line, as a user types it, in a directory holding app.cc.
line="$(grep -m1 '^g++ app.cc \$(pkg-config' "$root/README.md")"
echo "README: $line"
mkdir "$work/app"
cp "$root/tests/consumer_main.cc" "$work/app/app.cc"
(cd "$work/app" &&
  PKG_CONFIG_PATH="$libdir/pkgconfig" bash -euo pipefail -c "$line" &&
  LD_LIBRARY_PATH="$libdir" ./app "$work/app.vec")
