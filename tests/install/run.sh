#!/usr/bin/env bash
# Installs the library into a temporary prefix and builds tests/install/hello.c
# against it twice: with pkg-config and with CMake's find_package(uvws). Each
# program runs a server and a client that exchange a message.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
cmake --install "$BUILD" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig"
cc -o "$work/hello_pc" tests/install/hello.c $(pkg-config --cflags --libs uvws) -Wl,-rpath,"$(pkg-config --variable=libdir uvws)"
"$work/hello_pc"
cmake -S tests/install -B "$work/cm" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cm" >/dev/null
"$work/cm/hello_shared"
"$work/cm/hello_static"
echo "install test: pkg-config and find_package builds both work"
