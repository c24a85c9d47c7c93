#!/bin/sh
# Regenerates the transcripts of cli/README.md (the fenced blocks marked
# `<!-- transcript -->`) from real runs of this build's `wireforms`; the test
# cli/tests/readme.rs fails when they drift. Run from anywhere in the repo.
set -eu
cd "$(dirname "$0")/../.."
WIREFORMS_BLESS=1 cargo test -p wireforms-cli --test readme "$@"
git --no-pager diff --stat -- cli/README.md
