#!/bin/sh
# cluster.sh -- a local cluster in the foreground, as in pymkv's README:
# three volumes (ports 3001-3003, data in /tmp/volume1-3), then the index
# on port 3000 with its file at /tmp/indexdb. Ctrl-C stops all of it.
# Override with PORT, VOLUME_PORTS, VOLUME_DIR (prefix) and INDEX.
set -u
cd "$(dirname "$0")/.." || exit 1
PORT=${PORT:-3000}
VOLUME_PORTS=${VOLUME_PORTS:-"3001 3002 3003"}
VOLUME_DIR=${VOLUME_DIR:-/tmp/volume}
INDEX=${INDEX:-/tmp/indexdb}

pids=""
stop() {
    trap - INT TERM EXIT
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill $pids 2>/dev/null
    wait
    echo "cluster: stopped" >&2
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

volumes=""
i=1
for p in $VOLUME_PORTS; do
    bin/mkv-volume "$p" "$VOLUME_DIR$i" &
    pids="$pids $!"
    volumes="$volumes localhost:$p"
    i=$((i + 1))
done
# Volumes first: wait until each answers (bounded: 5 s).
for p in $VOLUME_PORTS; do
    n=0
    until curl -s -o /dev/null "http://127.0.0.1:$p/"; do
        n=$((n + 1))
        if [ "$n" -gt 50 ]; then echo "cluster: volume on port $p did not start" >&2; exit 1; fi
        sleep 0.1
    done
done
# shellcheck disable=SC2086
bin/mkv-index --port "$PORT" --index "$INDEX" $volumes &
pids="$pids $!"
echo "cluster: index on http://localhost:$PORT, volumes:$volumes (Ctrl-C stops)" >&2
wait
