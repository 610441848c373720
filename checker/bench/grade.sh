#!/usr/bin/env bash
# Grading benchmark: prints the wall time and peak memory of grading N
# submissions of every exercise in the course (half solved, half the
# starter), the time per submission beyond the first, and the time to
# build and check one exercise set alone, for comparison.
#
#   checker/bench/grade.sh [N]      (default 30; run from anywhere)
#   GRADE_FLAGS=--no-sandbox checker/bench/grade.sh [N]
#                                   (the same without the sandbox, to
#                                   compare what it costs)
#
# Needs GNU time (/usr/bin/time) for peak memory.
set -euo pipefail
N="${1:-30}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --quiet --package checker
checker="$ROOT/target/debug/checker"
slugs=$(sed -n 's/^slug = "\(.*\)"/\1/p' exercises/info.toml)

make_class() { # $1: folder, $2: count
    mkdir -p "$1"
    for i in $(seq 1 "$2"); do
        s="$1/student$(printf %02d "$i")"
        mkdir -p "$s"
        cp -r exercises "$s/"
        if (( i % 2 == 1 )); then
            for slug in $slugs; do cp -r "solutions/$slug/." "$s/exercises/$slug/"; done
        fi
    done
}

secs() { date +%s.%N; }

# Warm up: the course's own build, so dependencies are compiled before timing.
make_class "$work/warm" 1
"$checker" grade "$work/warm" --out "$work/warm-out" ${GRADE_FLAGS:-} >/dev/null 2>&1

echo "== one exercise set alone (dev try of each solution, warm)"
t0=$(secs)
for slug in $slugs; do "$checker" dev try "$slug" "solutions/$slug" --format json >/dev/null; done
alone=$(echo "$(secs) - $t0" | bc)
printf 'one set alone: %.1f s\n' "$alone"

run() { # $1: count -> prints wall seconds and peak KiB
    make_class "$work/class$1" "$1"
    /usr/bin/time -f '%e %M' -o "$work/time$1" "$checker" grade "$work/class$1" --out "$work/out$1" --jobs 2 ${GRADE_FLAGS:-} >/dev/null 2>"$work/log$1"
    cat "$work/time$1"
}

echo "== grading 1 submission"
read -r t1 m1 < <(run 1)
printf 'wall %.1f s, peak RSS of the largest process %d MiB\n' "$t1" $((m1 / 1024))
echo "== grading $N submissions (--jobs 2)"
read -r tn mn < <(run "$N")
printf 'wall %.1f s, peak RSS of the largest process %d MiB\n' "$tn" $((mn / 1024))
per=$(echo "($tn - $t1) / ($N - 1)" | bc -l)
printf 'per submission beyond the first: %.1f s (%.2fx one set alone)\n' "$per" "$(echo "$per / $alone" | bc -l)"
head -1 "$work/log$N"
head -3 "$work/out$N/grades.csv"
