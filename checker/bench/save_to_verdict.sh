#!/usr/bin/env bash
# Save-to-verdict benchmark: for each exercise named (default: every
# exercise in the course), the time from saving an edit to a solved
# exercise's src/lib.rs to the checker's verdict, warm: what a student
# waits for in the watch loop (the relink of their crate and its checks,
# then every check against the database).
#
#   checker/bench/save_to_verdict.sh [-n RUNS] [SLUG...]   (default 7 runs)
#
# It lays the solution into exercises/SLUG, appends a comment to
# src/lib.rs before each `checker run SLUG`, and puts the exercise's files
# back afterwards, however it ends. It refuses to touch an exercise whose
# files differ from git's copy, so nobody's work is at stake. The first,
# cold run is not counted. Prints the median and every run, in ms, and the
# build/checks split the checker reported for the last run.
set -euo pipefail
runs=7
if [[ "${1:-}" == "-n" ]]; then runs="$2"; shift 2; fi
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
work="$(mktemp -d)"
current=""
restore() {
    if [[ -n "$current" ]]; then
        rm -rf "exercises/$current"
        cp -r "$work/backup" "exercises/$current"
    fi
    rm -rf "$work"
}
trap restore EXIT

cargo build --quiet --package checker
checker="$ROOT/target/debug/checker"
slugs=("$@")
if [[ ${#slugs[@]} -eq 0 ]]; then
    mapfile -t slugs < <(sed -n 's/^slug = "\(.*\)"/\1/p' exercises/info.toml)
fi

ms() { echo $(( $(date +%s%N) / 1000000 )); }

for slug in "${slugs[@]}"; do
    if [[ -n "$(git status --porcelain -- "exercises/$slug")" ]]; then
        echo "$slug: exercises/$slug has changes of yours; commit or stash them first. Skipped."
        continue
    fi
    rm -rf "$work/backup"
    cp -r "exercises/$slug" "$work/backup"
    current="$slug"
    cp -r "solutions/$slug/." "exercises/$slug/"
    lib="exercises/$slug/src/lib.rs"
    if [[ ! -f "$lib" ]]; then
        echo "$slug: no src/lib.rs to edit, skipped"
    else
        "$checker" run "$slug" >/dev/null 2>&1 || true # cold
        times=()
        for i in $(seq 1 "$runs"); do
            echo "// edit $i" >> "$lib"
            t0=$(ms)
            if ! "$checker" run "$slug" > "$work/out" 2>&1; then
                echo "$slug: the solution did not pass:"
                head -20 "$work/out"
                exit 1
            fi
            times+=($(( $(ms) - t0 )))
        done
        sorted=$(printf '%s\n' "${times[@]}" | sort -n)
        median=$(echo "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
        split=$(head -1 "$work/out" | grep -o 'build .*' || true)
        printf '%-20s median %5d ms   runs: %s   (last: %s)\n' "$slug" "$median" "$(echo $sorted)" "$split"
    fi
    rm -rf "exercises/$slug"
    cp -r "$work/backup" "exercises/$slug"
    current=""
done
