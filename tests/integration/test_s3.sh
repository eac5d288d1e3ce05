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

finish
