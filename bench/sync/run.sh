#!/bin/sh
# bench/sync/run.sh [--quick] [bench_sync options]
#
# Build svidca and bench_sync (release build in $BUILD, default
# build-bench), start a scratch server on loopback in a temporary
# directory, run bench_sync against it and stop the server.  By default
# the store gets 1,000,000 entries through POST /v1/entries in batches of
# 5000 over the admin socket (this takes a while); --quick uses 20,000.
# Other options go to bench_sync, e.g. --entries 200000 --mine 500.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}
ENTRIES=1000000
if [ "${1:-}" = "--quick" ]; then
	ENTRIES=20000
	shift
fi

if [ ! -d "$BUILD" ]; then
	meson setup --buildtype=release "$BUILD" "$ROOT" >/dev/null
fi
meson compile -C "$BUILD" svidca bench_sync >/dev/null

TMP=$(mktemp -d /tmp/svidca-bench-sync.XXXXXX)
SPID=
cleanup() {
	if [ -n "$SPID" ]; then
		kill "$SPID" 2>/dev/null || true
		wait "$SPID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
HPORT=$(free_port)

"$BUILD/svidca" server run --trust-domain bench.example \
    --data-dir "$TMP/data" --kek-file "$TMP/data.kek" \
    --listen "127.0.0.1:$PORT" --health-listen "127.0.0.1:$HPORT" \
    --log-level "${SVIDCA_LOG_LEVEL:-warn}" >"$TMP/server.log" 2>&1 &
SPID=$!

i=0
until curl -fs "http://127.0.0.1:$HPORT/ready" >/dev/null 2>&1; do
	i=$((i + 1))
	if [ "$i" -gt 200 ] || ! kill -0 "$SPID" 2>/dev/null; then
		echo "bench/sync: the server did not come up:" >&2
		cat "$TMP/server.log" >&2
		exit 1
	fi
	sleep 0.05
done

echo "bench/sync: $(nproc) cores, load average $(cut -d" " -f1-3 /proc/loadavg), store in $TMP/data"
status=0
"$BUILD/bench_sync" --server "127.0.0.1:$PORT" --socket "$TMP/data/admin.sock" \
    --server-pid "$SPID" --entries "$ENTRIES" "$@" || status=$?
if [ "$status" -ne 0 ]; then
	echo "bench/sync: bench_sync failed ($status); server log tail:" >&2
	tail -20 "$TMP/server.log" >&2
fi
echo "bench/sync: database $(du -sh "$TMP/data" | cut -f1)"
exit "$status"
