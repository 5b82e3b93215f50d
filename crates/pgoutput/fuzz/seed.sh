#!/usr/bin/env bash
# Writes every captured message of ../tests/data/ as a seed file into corpus/decode/.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/decode
i=0
for f in ../tests/data/pgoutput_*.txt; do
    grep -v '^#' "$f" | while read -r _lsn _xid hex; do
        i=$((i + 1))
        printf '%s' "$hex" | xxd -r -p > "corpus/decode/$(basename "$f" .txt)-$i"
    done
done
ls corpus/decode | wc -l
