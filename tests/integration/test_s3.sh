#!/bin/bash
# test_s3.sh -- the S3 endpoint with the real clients from Debian: boto3
# (python3-boto3), the AWS CLI (awscli) and s3cmd, against real nginx
# volumes and the real index; objects cross between the S3 and native
# APIs. The client scripts are tests/s3/*.py; each of their checks is
# one line "ok - ..." or "not ok - ...", counted here.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

BOTO_PY=/usr/bin/python3
if ! $BOTO_PY -c 'import boto3' 2>/dev/null; then
    skip "python3-boto3 is not installed (make deps installs it)"
    finish
    exit $?
fi

# py_checks SCRIPT ARGS... -- run a client script from tests/s3, count
# its checks; its stderr (tracebacks) goes to WORK/SCRIPT.err.
py_checks() {
    local script=$1 line
    shift
    while IFS= read -r line; do
        case $line in
        "ok - "*) ok "${line#ok - }" ;;
        "not ok - "*) bad "${line#not ok - }" ;;
        *) echo "# $line" ;;
        esac
    done < <(cd tests/s3 && timeout 300 $BOTO_PY "$script" "$@" 2>"$WORK/${script%.py}.err"; echo "exit $?")
}

start_volume "$WORK/v1" || exit 1; V1=$VPORT
start_volume "$WORK/v2" || exit 1; V2=$VPORT
S3PORT=$(free_port)
KEY=AKIDTESTCMKV
SECRET=cmkvTestSecret/with+chars
printf '# test keys\n%s:%s\nOTHER:othersecret\n' "$KEY" "$SECRET" > "$WORK/creds"
start_index "$WORK/indexdb" --s3-port "$S3PORT" --s3-credentials "$WORK/creds" \
    localhost:$V1 localhost:$V2 || exit 1
EP=http://127.0.0.1:$S3PORT

echo "# the endpoint itself"
expect "an unsigned request is refused with 403" 403 "$(code "$EP/")"
expect "the refusal is S3's AccessDenied document" AccessDenied \
    "$(curl -s "$EP/" | sed -n 's|.*<Code>\(.*\)</Code>.*|\1|p')"
expect "the native port does not speak S3" 404 "$(code "$URL/alpha/small.txt")"

echo "# boto3: buckets, objects, ranges, listings, errors, cross-API"
py_checks boto3_basic.py "$EP" "$KEY" "$SECRET" "$URL" "$WORK"

echo "# signatures: presigned URLs, payload hashes, aws-chunked, Content-MD5"
py_checks signing.py "$EP" "$KEY" "$SECRET" "$URL" "$WORK"

echo "# boto3: DeleteObjects, CopyObject, multipart, what is not implemented"
py_checks boto3_more.py "$EP" "$KEY" "$SECRET" "$URL" "$WORK"

# nothing_behind NAME -- every file on the volumes is a value the index
# lists: no part, no failed write, no copy left over.
nothing_behind() {
    local files keys
    # A copy whose fate a timeout left unknown is removed in the
    # background (cleanup.c): on a loaded machine, wait for that first.
    for _ in $(seq 150); do
        [ "$(curl -s "$URL/?metrics" | awk '$1 == "cmkv_cleanups_pending" { print $2 }')" = 0 ] && break
        sleep 0.1
    done
    files=$(find "$WORK/v1" "$WORK/v2" -type f ! -path '*/.nginx/*' | wc -l)
    keys=$(curl -s "$URL/?list" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["keys"]))')
    expect "$1" "$keys" "$files"
    [ "$keys" = "$files" ] ||
        find "$WORK/v1" "$WORK/v2" -type f ! -path '*/.nginx/*' | head -n 30 | sed 's/^/#   /'
}

echo "# memory stays flat while an object streams through the index"
# Under a sanitizer freed memory is held back (ASan's quarantine), so the
# bound is checked on the plain build only.
if [ -n "${ASAN_OPTIONS:-}" ]; then BOUND=report; else BOUND=check; fi
py_checks memory.py "$EP" "$KEY" "$SECRET" "$IPID" 256 "$BOUND"

echo "# the AWS CLI (awscli): cp with multipart, sync both ways, ls, rm"
if [ -x /usr/bin/aws ]; then
    mkdir -p "$WORK/awshome"
    printf '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n' > "$WORK/awshome/config"
    printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$KEY" "$SECRET" \
        > "$WORK/awshome/credentials"
    # aws ARGS... -- Debian's CLI on the endpoint, with its own config only.
    aws() {
        HOME=$WORK/awshome AWS_CONFIG_FILE=$WORK/awshome/config \
            AWS_SHARED_CREDENTIALS_FILE=$WORK/awshome/credentials AWS_PAGER= \
            timeout 300 /usr/bin/aws --endpoint-url "$EP" "$@"
    }
    if aws s3 mb s3://cli >"$WORK/aws.out" 2>&1; then ok "aws s3 mb"; else bad "aws s3 mb" "$(tail -n 2 "$WORK/aws.out")"; fi
    head -c $((50 * 1024 * 1024)) /dev/urandom > "$WORK/big50"
    if aws s3 cp "$WORK/big50" s3://cli/big50 >"$WORK/aws.out" 2>&1; then
        ok "aws s3 cp of a 50 MiB file"
    else
        bad "aws s3 cp of a 50 MiB file" "$(tail -n 2 "$WORK/aws.out")"
    fi
    case $(aws s3api head-object --bucket cli --key big50 --query ETag --output text 2>&1) in
    *-[0-9]*) ok "the 50 MiB file went up in parts (a multipart ETag)" ;;
    *) bad "the 50 MiB file went up in parts (a multipart ETag)" ;;
    esac
    aws s3 cp s3://cli/big50 "$WORK/big50.back" >"$WORK/aws.out" 2>&1
    if cmp -s "$WORK/big50" "$WORK/big50.back"; then ok "aws s3 cp back is byte for byte"; else bad "aws s3 cp back is byte for byte" "$(tail -n 2 "$WORK/aws.out")"; fi
    rm -f "$WORK/big50.back"
    mkdir -p "$WORK/tree/a/b" "$WORK/tree/c"
    for f in one a/two a/b/three c/four "c/five with space" c/plus+sign; do
        printf 'content of %s\n' "$f" > "$WORK/tree/$f"
    done
    # Stored times have whole seconds (the volumes' file times): files
    # older than their upload, as usual, so sync compares them as S3's.
    find "$WORK/tree" -type f -exec touch -d '1 hour ago' {} +
    aws s3 sync "$WORK/tree" s3://cli/tree >"$WORK/sync.out" 2>&1
    expect "aws s3 sync up sends every file" 6 "$(tr '\r' '\n' < "$WORK/sync.out" | grep -c '^upload:')"
    aws s3 sync "$WORK/tree" s3://cli/tree >"$WORK/aws.out" 2>&1
    expect "a second sync up sends nothing" 0 "$(tr '\r' '\n' < "$WORK/aws.out" | grep -c '^upload:')"
    aws s3 sync s3://cli/tree "$WORK/tree.back" >"$WORK/aws.out" 2>&1
    if diff -r "$WORK/tree" "$WORK/tree.back" >/dev/null; then ok "aws s3 sync down gives the same tree"; else bad "aws s3 sync down gives the same tree" "$(tail -n 3 "$WORK/aws.out")"; fi
    aws s3 ls --recursive s3://cli/ >"$WORK/aws.ls" 2>&1
    expect "aws s3 ls --recursive lists every object" 7 "$(grep -c ' ' "$WORK/aws.ls")"
    if grep -q 'tree/c/five with space$' "$WORK/aws.ls" && grep -q 'tree/c/plus+sign$' "$WORK/aws.ls"; then
        ok "aws s3 ls shows keys with a space and a plus as they are"
    else
        bad "aws s3 ls shows keys with a space and a plus as they are" "$(cat "$WORK/aws.ls")"
    fi
    aws s3 rm --recursive s3://cli/tree >"$WORK/aws.out" 2>&1
    expect "aws s3 rm --recursive deletes every object" 6 "$(tr '\r' '\n' < "$WORK/aws.out" | grep -c '^delete:')"
    expect "only the big file is left" 1 "$(aws s3 ls --recursive s3://cli/ 2>/dev/null | grep -c ' ')"
    rm -rf "$WORK/tree.back" "$WORK/big50"
else
    skip "awscli is not installed (make deps installs it)"
fi

echo "# s3cmd: put, get, ls, del"
if [ -x /usr/bin/s3cmd ]; then
    cat > "$WORK/s3cfg" <<END
[default]
access_key = $KEY
secret_key = $SECRET
host_base = 127.0.0.1:$S3PORT
host_bucket = 127.0.0.1:$S3PORT
use_https = False
signature_v2 = False
bucket_location = us-east-1
END
    s3c() { HOME=$WORK timeout 120 /usr/bin/s3cmd -c "$WORK/s3cfg" "$@"; }
    head -c 300000 /dev/urandom > "$WORK/s3cmd.in"
    if s3c mb s3://tool >"$WORK/s3cmd.out" 2>&1; then ok "s3cmd mb"; else bad "s3cmd mb" "$(tail -n 2 "$WORK/s3cmd.out")"; fi
    if s3c put "$WORK/s3cmd.in" s3://tool/dir/file >"$WORK/s3cmd.out" 2>&1; then ok "s3cmd put"; else bad "s3cmd put" "$(tail -n 2 "$WORK/s3cmd.out")"; fi
    s3c get s3://tool/dir/file "$WORK/s3cmd.back" >"$WORK/s3cmd.out" 2>&1
    if cmp -s "$WORK/s3cmd.in" "$WORK/s3cmd.back"; then ok "s3cmd get is byte for byte"; else bad "s3cmd get is byte for byte" "$(tail -n 2 "$WORK/s3cmd.out")"; fi
    s3c ls s3://tool/dir/ >"$WORK/s3cmd.out" 2>&1
    if grep -q 's3://tool/dir/file$' "$WORK/s3cmd.out"; then ok "s3cmd ls lists the object"; else bad "s3cmd ls lists the object" "$(tail -n 2 "$WORK/s3cmd.out")"; fi
    s3c ls >"$WORK/s3cmd.out" 2>&1
    if grep -q 's3://tool$' "$WORK/s3cmd.out"; then ok "s3cmd ls lists the buckets"; else bad "s3cmd ls lists the buckets" "$(tail -n 2 "$WORK/s3cmd.out")"; fi
    if s3c del s3://tool/dir/file >"$WORK/s3cmd.out" 2>&1; then ok "s3cmd del"; else bad "s3cmd del" "$(tail -n 2 "$WORK/s3cmd.out")"; fi
    expect "the deleted object is gone" 404 "$(code "$URL/tool/dir/file")"
    if s3c rb s3://tool >"$WORK/s3cmd.out" 2>&1; then ok "s3cmd rb of the emptied bucket"; else bad "s3cmd rb of the emptied bucket" "$(tail -n 2 "$WORK/s3cmd.out")"; fi
else
    skip "s3cmd is not installed (make deps installs it)"
fi

nothing_behind "every file on the volumes is a listed key (no part or failed write left)"

echo "# access control: SIGHUP rereads the keys, --listen, mkv-volume --writers"
printf 'NEWKEY:newsecret\n' > "$WORK/creds"
kill -HUP "$IPID"
sleep 1
py_checks keys.py "$EP" NEWKEY newsecret "$KEY" "$SECRET"
printf 'not a key line\n' > "$WORK/creds"
kill -HUP "$IPID"
sleep 1
if grep -q 'SIGHUP: .*line 1.*kept' "$WORK/indexdb.log"; then ok "a bad credentials file on SIGHUP is refused with a log line"; else bad "a bad credentials file on SIGHUP is refused with a log line"; fi
py_checks keys.py "$EP" NEWKEY newsecret "$KEY" "$SECRET"
printf '%s:%s\n' "$KEY" "$SECRET" > "$WORK/creds"
kill -HUP "$IPID"
sleep 1

LPORT=$(free_port)
LS3=$(free_port)
"$BIN"/mkv-index --listen 127.0.0.2 --port "$LPORT" --s3-port "$LS3" --s3-credentials "$WORK/creds" \
    --index "$WORK/listendb" localhost:$V1 localhost:$V2 >"$WORK/listendb.log" 2>&1 &
PIDS="$PIDS $!"
wait_http "http://127.0.0.2:$LPORT/" || echo "# the --listen index did not start"
expect "with --listen 127.0.0.2 the native API answers there" 404 "$(code "http://127.0.0.2:$LPORT/nokey")"
expect "with --listen 127.0.0.2 the S3 port answers there" 403 "$(code "http://127.0.0.2:$LS3/")"
expect "and nothing listens on 127.0.0.1 for the native API" 000 "$(code --max-time 2 "http://127.0.0.1:$LPORT/nokey")"
expect "and nothing listens on 127.0.0.1 for S3" 000 "$(code --max-time 2 "http://127.0.0.1:$LS3/")"

start_volume_writers() {
    VPORT=$(free_port)
    "$BIN"/mkv-volume --writers "$2" "$VPORT" "$1" >"$1.log" 2>&1 &
    PIDS="$PIDS $!"
    wait_http "http://127.0.0.1:$VPORT/" || { echo "# volume on $VPORT did not start:"; cat "$1.log"; }
}
start_volume_writers "$WORK/wv" 127.0.0.2
expect "a volume with --writers 127.0.0.2 refuses a PUT from 127.0.0.1 with 403" 403 \
    "$(code -X PUT -d value "http://127.0.0.1:$VPORT/k")"
expect "and a DELETE from 127.0.0.1" 403 "$(code -X DELETE "http://127.0.0.1:$VPORT/k")"
expect "it takes a PUT from 127.0.0.2" 201 "$(code --interface 127.0.0.2 -X PUT -d value "http://127.0.0.1:$VPORT/k")"
expect "and still serves GET to 127.0.0.1" value "$(curl -s "http://127.0.0.1:$VPORT/k")"
expect "and HEAD" 200 "$(code -I "http://127.0.0.1:$VPORT/k")"
expect "and listings" 200 "$(code "http://127.0.0.1:$VPORT/")"
WV=$VPORT
start_volume_writers "$WORK/wv2" 127.0.0.0/8,::1
IPORT_WANT=$(free_port) start_index "$WORK/writersdb" localhost:$VPORT || exit 1
expect "an index writes through a volume whose --writers covers it" 201 "$(code -X PUT -d v "$URL/through")"
IPORT_WANT=$(free_port) start_index "$WORK/writersdb2" localhost:$WV || exit 1
expect "and cannot write around --writers (502, nothing stored)" 502 "$(code -X PUT -d v "$URL/around")"
expect "the refused write left no key" 404 "$(code "$URL/around")"

echo "# an abandoned multipart upload expires"
EPORT=$(free_port)
IPORT_WANT=$(free_port) start_index "$WORK/expirydb" --s3-port "$EPORT" \
    --s3-credentials "$WORK/creds" --s3-upload-expiry 2 localhost:$V1 localhost:$V2 || exit 1
XURL=$URL
py_checks expiry.py "http://127.0.0.1:$EPORT" "$KEY" "$SECRET"
if grep -q 'S3 multipart: upload [0-9a-f]* expired' "$WORK/expirydb.log"; then
    ok "the expiry is logged"
else
    bad "the expiry is logged"
fi
expect "the expired upload's part is gone from the index" "cmkv_keys 0" \
    "$(curl -s "$XURL/?metrics" | grep '^cmkv_keys ')"

finish
