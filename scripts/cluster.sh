#!/bin/sh
# cluster.sh -- a local cluster in the foreground, as in pymkv's README:
# three volumes (ports 3001-3003, data in /tmp/volume1-3, writable from
# loopback only), then the index on port 3000 with its file at
# /tmp/indexdb and the S3 endpoint on port 3080, whose access key it
# creates in /tmp/cmkv-s3-credentials (kept across runs) and prints.
# Ctrl-C stops all of it. Override with PORT, VOLUME_PORTS, VOLUME_DIR
# (prefix), INDEX, S3_PORT and S3_CREDENTIALS.
set -u
cd "$(dirname "$0")/.." || exit 1
PORT=${PORT:-3000}
VOLUME_PORTS=${VOLUME_PORTS:-"3001 3002 3003"}
VOLUME_DIR=${VOLUME_DIR:-/tmp/volume}
INDEX=${INDEX:-/tmp/indexdb}
S3_PORT=${S3_PORT:-3080}
S3_CREDENTIALS=${S3_CREDENTIALS:-/tmp/cmkv-s3-credentials}

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
    bin/mkv-volume --writers 127.0.0.1 "$p" "$VOLUME_DIR$i" &
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
if [ ! -s "$S3_CREDENTIALS" ]; then
    id=CMKV$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
    secret=$(od -An -N30 -tx1 /dev/urandom | tr -d ' \n')
    (umask 077 && printf '# ACCESS_KEY_ID:SECRET_ACCESS_KEY, one a line\n%s:%s\n' \
        "$id" "$secret" > "$S3_CREDENTIALS")
fi
key=$(grep -v '^ *#' "$S3_CREDENTIALS" | grep : | head -n 1)
# shellcheck disable=SC2086
bin/mkv-index --port "$PORT" --index "$INDEX" --s3-port "$S3_PORT" \
    --s3-credentials "$S3_CREDENTIALS" $volumes &
pids="$pids $!"
echo "cluster: index on http://localhost:$PORT, volumes:$volumes (Ctrl-C stops)" >&2
echo "cluster: S3 on http://localhost:$S3_PORT, keys in $S3_CREDENTIALS:" >&2
echo "    AWS_ACCESS_KEY_ID=${key%%:*} AWS_SECRET_ACCESS_KEY=${key#*:} \\" >&2
echo "    aws --endpoint-url http://localhost:$S3_PORT s3 ls" >&2
wait
