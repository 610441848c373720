#!/usr/bin/env bash
# Gradescope autograder setup for the Postgres & ORM Workbook: runs once,
# as root, when Gradescope builds the autograder image.
#
# The autograder zip holds this file, run_autograder, and course/: the
# instructor's copy of the course repository.
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"

apt-get update
apt-get install -y --no-install-recommends postgresql curl ca-certificates build-essential
if ! command -v cargo >/dev/null; then
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
# shellcheck disable=SC1091
source "$HOME/.cargo/env"

# Compile the checker and every dependency once, into the image: each
# submission then only compiles its own exercise crates.
cd "$ROOT/source/course"
cargo build --package checker
cargo test --workspace --no-run
