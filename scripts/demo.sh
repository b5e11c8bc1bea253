#!/usr/bin/env bash
# The main job on a built-in sample: medvol writes a synthetic CT series of its own (phantom), lists it,
# converts it to .mhd and .npy, and describes the result. Everything lands in demo-output/.
set -euo pipefail
medvol=${1:-.build/release/medvol}
out=demo-output
rm -rf "$out"
mkdir -p "$out"
echo "== medvol phantom: a 256×256×64 CT series, stored unsigned with intercept -1024, shuffled file names"
"$medvol" phantom "$out/phantom-ct" --size 256,256,64 --unsigned-intercept --shuffle-names
echo
echo "== medvol series $out/phantom-ct"
"$medvol" series "$out/phantom-ct"
echo
echo "== medvol convert → .mhd and .npy"
"$medvol" convert "$out/phantom-ct" "$out/phantom.mhd"
"$medvol" convert "$out/phantom-ct" "$out/phantom.npy"
echo
echo "== medvol info $out/phantom.mhd"
"$medvol" info "$out/phantom.mhd"
echo
echo "== medvol info --json $out/phantom-ct"
"$medvol" info "$out/phantom-ct" --json
echo
ls -l "$out"
