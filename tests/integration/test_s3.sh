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
    files=$(find "$WORK/v1" "$WORK/v2" -type f ! -path '*/.nginx/*' | wc -l)
    keys=$(curl -s "$URL/?list" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["keys"]))')
    expect "$1" "$keys" "$files"
}
nothing_behind "every file on the volumes is a listed key (no part or failed write left)"

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
