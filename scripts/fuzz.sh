#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of the manifest loader and the saved-plan reader.
#
#   bash scripts/fuzz.sh                    # both targets, FUZZ_SECONDS each
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh PlanFuzz
#
# Environment:
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_RSS_MB    libFuzzer -rss_limit_mb (default 2048)
#   FUZZ_TIMEOUT   seconds one input may take before it counts as a hang (default 10)
#   FUZZ_MAX_LEN   largest input libFuzzer generates, in bytes (default 8192)
#   FUZZ_CORPUS    where corpora are kept between runs (default .build-fuzz/corpus; seeds are added each run)
#   FUZZ_OUT       where this run's logs and crash/timeout/oom artifacts go (default a new /tmp/ferry-fuzz.XXXXXX)
#
# The fuzz targets exist only when FERRY_FUZZ is set (Package.swift) and build in their own scratch path,
# .build-fuzz, with FerryCore, Yams and libyaml instrumented too; the normal .build is never touched.
# Prints per target: seconds, executions, exec/s, corpus size and crashes found. Exits 1 when anything was found.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${FUZZ_SECONDS:-60}
rss_mb=${FUZZ_RSS_MB:-2048}
timeout_s=${FUZZ_TIMEOUT:-10}
max_len=${FUZZ_MAX_LEN:-8192}
corpus_root=${FUZZ_CORPUS:-$root/.build-fuzz/corpus}
out=${FUZZ_OUT:-$(mktemp -d /tmp/ferry-fuzz.XXXXXX)}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ManifestFuzz PlanFuzz)

flags=(-c release --scratch-path "$root/.build-fuzz"
    -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address)
for target in "${targets[@]}"; do
    echo "== building $target" >&2
    # ld.gold warns about every ASan helper it cannot export; those lines are noise.
    FERRY_FUZZ=1 swift build "${flags[@]}" --product "$target" 2>&1 | grep -v "Cannot export local symbol" >&2
done
bin=$(FERRY_FUZZ=1 swift build "${flags[@]}" --show-bin-path)

# Seed corpora: the example manifests, hand-written snippets, and saved plans made by the real planner.
mkdir -p "$out" "$corpus_root/ManifestFuzz" "$corpus_root/PlanFuzz"
for file in "$root"/manifests/*.yaml "$root"/Fuzz/seeds/manifest/*.yaml; do
    cp "$file" "$corpus_root/ManifestFuzz/seed-$(basename "$file")"
done
FERRY_FUZZ_WRITE_SEEDS="$corpus_root/PlanFuzz" "$bin/PlanFuzz"

found=0
summary=()
for target in "${targets[@]}"; do
    case $target in
        ManifestFuzz) dict=$root/Fuzz/dictionaries/manifest.dict ;;
        PlanFuzz) dict=$root/Fuzz/dictionaries/plan.dict ;;
        *) echo "unknown target $target" >&2; exit 2 ;;
    esac
    artifacts=$out/$target
    mkdir -p "$artifacts"
    log=$out/$target.log
    echo "== fuzzing $target for ${seconds}s (log $log, artifacts $artifacts/)" >&2
    set +e
    # -fork=1 runs the inputs in a child and keeps going after a crash, so one run reports every finding.
    "$bin/$target" "$corpus_root/$target" -dict="$dict" -max_total_time="$seconds" -rss_limit_mb="$rss_mb" \
        -malloc_limit_mb="$rss_mb" -timeout="$timeout_s" -max_len="$max_len" -print_final_stats=1 \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -artifact_prefix="$artifacts/" \
        >"$log" 2>&1
    status=$?
    set -e
    # Fork mode's progress lines: "#<execs>: cov: .. ft: .. corp: <units> exec/s: .. oom/timeout/crash: a/b/c time: <s>s".
    last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
    execs=$(sed -nE 's/^#([0-9]+):.*/\1/p' <<<"$last")
    corpus=$(sed -nE 's/.* corp: ([0-9]+) .*/\1/p' <<<"$last")
    elapsed=$(sed -nE 's/.* time: ([0-9]+)s.*/\1/p' <<<"$last")
    reported=$(sed -nE 's#.* oom/timeout/crash: ([0-9]+)/([0-9]+)/([0-9]+) .*#\1 \2 \3#p' <<<"$last")
    elapsed=${elapsed:-0}
    rate=$(( ${execs:-0} / (elapsed > 0 ? elapsed : 1) ))
    crashes=$(find "$artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
    for n in $reported; do [ "$n" -eq 0 ] || found=1; done
    if [ "$crashes" -gt 0 ] || [ "$status" -ne 0 ] || [ -z "$last" ]; then
        found=1
    fi
    summary+=("$(printf '%-13s %6ss %11s execs %7s exec/s %6s corpus units %3s crash/timeout/oom files (oom/timeout/crash reported: %s; exit %s)' \
        "$target" "$elapsed" "${execs:-?}" "$rate" "${corpus:-?}" "$crashes" "${reported:-?}" "$status")")
done

echo
echo "Fuzzing summary (artifacts and logs in $out):"
printf '  %s\n' "${summary[@]}"
if [ "$found" -ne 0 ]; then
    echo "FOUND: crash, hang or out-of-memory inputs; reproduce with: $bin/<Target> <artifact>" >&2
    find "$out" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) >&2
    exit 1
fi
