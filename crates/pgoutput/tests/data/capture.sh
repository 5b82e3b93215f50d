#!/usr/bin/env bash
# Regenerates the captured pgoutput streams in this directory from a throwaway PostgreSQL 15 cluster.
# Usage: bash capture.sh   (needs initdb/pg_ctl/psql of PostgreSQL 15; run as root it uses the postgres user)
# Output format, one pgoutput message per line: `<lsn> <xid> <hex bytes of the message>`; '#' starts a comment.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir=/tmp/pgcap; port=55433
run() { if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else bash -c "$*"; fi; }
psql_() { run "psql -X -q -v ON_ERROR_STOP=1 -h /tmp -p $port -U postgres -d postgres $*"; }
cleanup() { run "pg_ctl -D $dir -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
rm -rf "$dir"; mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
run "initdb -D $dir -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >/dev/null
run "pg_ctl -D $dir -w -l $dir/log -o '-p $port -c wal_level=logical -c max_replication_slots=4 -c max_wal_senders=4 -c logical_decoding_work_mem=64kB -k /tmp' start" >/dev/null

peek() { # slot, output file, extra options
    local slot=$1 out=$2; shift 2
    local opts="'publication_names', '$1', 'messages', 'true'"; shift
    for o in "$@"; do opts="$opts, $o"; done
    {
        echo "# pgoutput captured from $(psql_ -At -c "'select version()'")"
        echo "# pg_logical_slot_peek_binary_changes('$slot', NULL, NULL, $opts)"
        psql_ -At -F "' '" -c "\"select lsn, xid, encode(data, 'hex') from pg_logical_slot_peek_binary_changes('$slot', NULL, NULL, $opts)\""
    } > "$out"
}

cp "$here/capture.sql" "$here/capture_stream.sql" /tmp/ && chmod a+r /tmp/capture.sql /tmp/capture_stream.sql
psql_ -f /tmp/capture.sql >/dev/null
peek cap "$here/pgoutput_v1.txt" pub "'proto_version', '1'"
peek cap "$here/pgoutput_v1_binary.txt" pub "'proto_version', '1'" "'binary', 'true'"
psql_ -c "\"select pg_drop_replication_slot('cap')\"" >/dev/null
psql_ -f /tmp/capture_stream.sql >/dev/null
peek capstream "$here/pgoutput_v2_stream.txt" pubstream "'proto_version', '2'" "'streaming', 'on'"
rm -f /tmp/capture.sql /tmp/capture_stream.sql
wc -l "$here"/pgoutput_*.txt
