#!/bin/bash -eu
# Builds every cargo-fuzz target of fuzz/ into $OUT, with its dictionary
# ($OUT/<target>.dict) and a seed corpus generated from spec/vectors
# ($OUT/<target>_seed_corpus.zip), as ClusterFuzzLite and OSS-Fuzz expect.
cd "$SRC/wireforms"

# -O: optimised; --debug-assertions: keep overflow checks and debug_assert!.
cargo fuzz build -O --debug-assertions
release=fuzz/target/x86_64-unknown-linux-gnu/release

# The seed generator is a test of the fuzzing crate (fuzzing/tests/corpus.rs).
seeds="$WORK/wireforms-seeds"
WIREFORMS_WRITE_SEEDS="$seeds" cargo test -q -p wireforms-fuzzing --test corpus write_seed_corpora

dict_for() {
  case "$1" in
    *typed) echo typed ;;
    *magic) echo magic ;;
    *frame) echo frame ;;
    *mux | mux_*) echo mux ;;
    *) echo reqres ;;
  esac
}

for target in $(cargo fuzz list); do
  cp "$release/$target" "$OUT/"
  cp "fuzz/dicts/$(dict_for "$target").dict" "$OUT/$target.dict"
  if [ -d "$seeds/$target" ]; then
    (cd "$seeds/$target" && zip -q -r "$OUT/${target}_seed_corpus.zip" .)
  fi
done
