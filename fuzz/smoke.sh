#!/usr/bin/env bash
# Runs every fuzz target for a bounded time and prints one summary line per
# target (libFuzzer's final stats). Usage, from anywhere:
#
#   fuzz/smoke.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Seeds the corpora from spec/vectors first (through the stable test
# `wireforms-fuzzing`'s `corpus::write_seed_corpora`). Exits non-zero when a target crashes;
# the input is then in fuzz/artifacts/<target>/ (see fuzz/README.md).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
seconds="${1:-10}"
shift || true

dict_for() {
  case "$1" in
    *typed) echo typed ;;
    *magic) echo magic ;;
    *frame) echo frame ;;
    *mux | mux_*) echo mux ;;
    *) echo reqres ;;
  esac
}

(cd "$here/.." && WIREFORMS_WRITE_SEEDS="$here/corpus" \
  cargo test -q -p wireforms-fuzzing --test corpus write_seed_corpora >/dev/null)

cd "$here"
cargo +nightly fuzz build
if [ "$#" -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo +nightly fuzz list); fi
mkdir -p logs
passed=0
failed=0
printf '%-18s %12s %9s %6s %7s %6s\n' target runs exec/s cov ft corpus
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target"
  log="logs/$target.log"
  if ! cargo +nightly fuzz run "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
      -dict="dicts/$(dict_for "$target").dict" -print_final_stats=1 >"$log" 2>&1; then
    echo "$target: CRASH (see fuzz/$log and fuzz/artifacts/$target/)"
    failed=$((failed + 1))
    continue
  fi
  done_line="$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)"
  runs="$(grep -oE 'stat::number_of_executed_units:[[:space:]]*[0-9]+' "$log" | grep -oE '[0-9]+$' || true)"
  rate="$(grep -oE 'stat::average_exec_per_sec:[[:space:]]*[0-9]+' "$log" | grep -oE '[0-9]+$' || true)"
  cov="$(grep -oE 'cov: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' || true)"
  ft="$(grep -oE 'ft: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+' || true)"
  corp="$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$done_line" | cut -d' ' -f2 || true)"
  passed=$((passed + 1))
  printf '%-18s %12s %9s %6s %7s %6s\n' "$target" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
done
echo "fuzz-smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
