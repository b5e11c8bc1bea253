#!/usr/bin/env bash
# Coverage-guided fuzzing of medvol's Swift readers with libFuzzer (docs/fuzzing.md).
#
#   scripts/fuzz.sh [SECONDS] [TARGET…]     (make fuzz FUZZ_SECONDS=N)
#
# Builds .build-fuzz/release/medvol-fuzz with -sanitize=fuzzer,address, makes the seed corpus of every
# target from small phantoms and the dcmtk/GDCM tools (RLE, JPEG, JPEG-LS, JPEG 2000, deflate, big endian,
# DICOMDIR), then runs each target for SECONDS (default 60). libFuzzer saves any input that crashes, trips
# AddressSanitizer, times out (>10 s) or runs out of memory (>2 GiB RSS) under Tests/fuzz-regressions/<target>/,
# where FuzzRegressionTests replays it; the script then exits 1. Inputs that add coverage are kept in
# .build-fuzz/corpus/<target>/ for the next run.
set -uo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
shift || true
ALL_TARGETS=(dicom dicom-pixels dicomdir rle encapsulated nifti metaimage nrrd numpy)
[ $# -gt 0 ] && TARGETS=("$@") || TARGETS=("${ALL_TARGETS[@]}")
SWIFT=${SWIFT:-swift}
BUILD=.build-fuzz
FUZZER=$BUILD/release/medvol-fuzz

echo "== building $FUZZER (release, -sanitize=fuzzer,address)"
build_start=$(date +%s)
$SWIFT build -c release --product medvol-fuzz --scratch-path "$BUILD" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DMEDVOL_LIBFUZZER || exit 1
echo "== build took $(( $(date +%s) - build_start )) s"

# MARK: Seeds (made afresh each run; a few KiB each, never committed)
SEEDS=$BUILD/seeds
rm -rf "$SEEDS" && mkdir -p "$SEEDS"
export TMPDIR=$PWD/$BUILD/tmp
rm -rf "$TMPDIR" && mkdir -p "$TMPDIR"
MEDVOL_FUZZ_WRITE_SEEDS=$SEEDS "$FUZZER" || exit 1
work=$TMPDIR/seed-work
mkdir -p "$work"
made() { [ -s "$2" ] && cp "$2" "$SEEDS/$1/$(basename "$2")"; }
for base in "$SEEDS"/dicom/ct-explicit.dcm "$SEEDS"/dicom/mr-explicit.dcm; do
    name=$(basename "$base" -explicit.dcm)
    # Each tool may be missing on a developer's machine: a seed fewer, not a failure.
    dcmcrle "$base" "$work/$name-rle.dcm" 2>/dev/null
    dcmcjpeg +e1 "$base" "$work/$name-jpeg-lossless.dcm" 2>/dev/null
    dcmcjpeg +eb "$base" "$work/$name-jpeg-baseline.dcm" 2>/dev/null
    dcmcjpls "$base" "$work/$name-jpegls.dcm" 2>/dev/null
    gdcmconv --j2k "$base" "$work/$name-j2k.dcm" 2>/dev/null
    dcmconv +td "$base" "$work/$name-deflated.dcm" 2>/dev/null
    dcmconv +tb "$base" "$work/$name-big-endian.dcm" 2>/dev/null
done
for file in "$work"/*.dcm; do made dicom "$file"; made dicom-pixels "$file"; done
MEDVOL_FUZZ_EXTRACT_PIXEL_SEEDS=$SEEDS "$FUZZER" || exit 1
# A DICOMDIR over two images (dcmmkdir wants ISO 9660 names).
mkdir -p "$work/dir/IMAGES"
cp "$SEEDS/dicom/ct-explicit.dcm" "$work/dir/IMAGES/CT1"
cp "$SEEDS/dicom/mr-explicit.dcm" "$work/dir/IMAGES/MR1"
(cd "$work/dir" && dcmmkdir --invent --recurse --output-file DICOMDIR IMAGES >/dev/null 2>&1)
[ -s "$work/dir/DICOMDIR" ] && cp "$work/dir/DICOMDIR" "$SEEDS/dicomdir/DICOMDIR"
cp "$SEEDS/dicom/ct-explicit.dcm" "$SEEDS/dicomdir/"
# Detached headers naming the fuzz.raw that every target's scratch folder holds.
printf 'ObjectType = Image\nNDims = 3\nDimSize = 8 8 4\nElementSpacing = 0.5 0.5 2\nOffset = 0 0 0\nTransformMatrix = 1 0 0 0 1 0 0 0 1\nElementType = MET_SHORT\nElementByteOrderMSB = False\nElementDataFile = fuzz.raw\n' > "$SEEDS/metaimage/detached.mhd"
printf 'NRRD0004\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: 8 8 4\nspace directions: (0.5,0,0) (0,0.5,0) (0,0,2)\nspace origin: (0,0,0)\nendian: little\nencoding: raw\ndata file: fuzz.raw\n' > "$SEEDS/nrrd/detached.nhdr"
rm -rf "$work"

# MARK: Runs
failed=()
summary=()
for target in "${TARGETS[@]}"; do
    corpus=$BUILD/corpus/$target
    artifacts=Tests/fuzz-regressions/$target
    mkdir -p "$corpus" "$artifacts"
    echo "== fuzzing $target for $SECONDS_PER_TARGET s ($(ls "$SEEDS/$target" | wc -l) seeds, $(ls "$corpus" | wc -l) corpus inputs)"
    log=$BUILD/fuzz-$target.log
    # Saved findings are inputs too: one that still fails stops the run at once.
    inputs=("$corpus" "$SEEDS/$target")
    [ -n "$(ls -A "$artifacts")" ] && inputs+=("$artifacts")
    MEDVOL_FUZZ_TARGET=$target ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 "$FUZZER" "${inputs[@]}" \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 \
        ${FUZZ_SEED:+-seed="$FUZZ_SEED"} -print_final_stats=1 -artifact_prefix="$artifacts/" 2>&1 | tee "$log" | grep --line-buffered -E '^#[0-9]+[[:space:]]+(INITED|DONE|pulse)|^stat::|ERROR|SUMMARY|Fatal error|Test unit written|artifact_prefix|==[0-9]+=='
    status=${PIPESTATUS[0]}
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    last=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -1)
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    summary+=("$(printf '%-14s exit %-3s executions %-9s cov %-6s ft %-6s corpus %s' "$target" "$status" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$(ls "$corpus" | wc -l)")")
    if [ "$status" -ne 0 ]; then failed+=("$target"); fi
    rmdir "$artifacts" 2>/dev/null
done
rm -rf "$TMPDIR"

echo "== fuzzing summary ($SECONDS_PER_TARGET s per target)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
    for target in "${failed[@]}"; do
        # CI machines are thrown away: the log keeps each new finding (inputs are at most 64 KiB).
        for input in $(git ls-files --others --exclude-standard "Tests/fuzz-regressions/$target"); do
            echo "== $input (base64; decode with base64 -d > $input):"
            base64 -w 120 "$input"
        done
    done
    echo "== FOUND: ${failed[*]} — the inputs are saved under Tests/fuzz-regressions/<target>/ (replayed by FuzzRegressionTests); see $BUILD/fuzz-<target>.log"
    exit 1
fi
