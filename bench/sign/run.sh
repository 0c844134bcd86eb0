#!/bin/sh
# bench/sign/run.sh [bench_sign options]
#
# Build svidca and bench_sign (release build in $BUILD, default
# build-bench), start a scratch server on loopback in a temporary
# directory, run bench_sign against it (it makes the join token and the
# entries over the admin socket, attests, and measures), print its lines
# and stop the server.  Options go to bench_sign, e.g.
#	bench/sign/run.sh --threads 4 --conns 8 --batch 100 --seconds 20
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench}

if [ ! -d "$BUILD" ]; then
	meson setup --buildtype=release "$BUILD" "$ROOT" >/dev/null
fi
meson compile -C "$BUILD" svidca bench_sign >/dev/null

TMP=$(mktemp -d /tmp/svidca-bench-sign.XXXXXX)
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
		echo "bench/sign: the server did not come up:" >&2
		cat "$TMP/server.log" >&2
		exit 1
	fi
	sleep 0.05
done

echo "bench/sign: $(nproc) cores, $(openssl version), load average $(cut -d" " -f1-3 /proc/loadavg)"
status=0
"$BUILD/bench_sign" --server "127.0.0.1:$PORT" --socket "$TMP/data/admin.sock" \
    --server-pid "$SPID" "$@" || status=$?
if [ "$status" -ne 0 ]; then
	echo "bench/sign: bench_sign failed ($status); server log tail:" >&2
	tail -20 "$TMP/server.log" >&2
fi
exit "$status"
