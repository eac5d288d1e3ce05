#!/bin/bash
# test_usage.sh -- the command lines of mkv-index and mkv-volume: --help
# and --version on stdout with exit 0, usage errors on stderr with exit 2
# (README: "bad arguments: usage and exit 2"), and nothing started.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

# run PROG ARG... -- run $BIN/PROG with a time limit (a usage error must
# never get as far as serving); sets RC, and OUT and ERR to its stdout and
# stderr.
run() {
    local prog=$1
    shift
    timeout 10 "$BIN/$prog" "$@" >"$WORK/out" 2>"$WORK/err"
    RC=$?
    OUT=$(cat "$WORK/out")
    ERR=$(cat "$WORK/err")
}

# usage_error NAME PROG ARG... -- exit 2, the usage on stderr, stdout empty.
usage_error() {
    local name=$1 prog=$2
    shift 2
    run "$prog" "$@"
    expect "$name: exits 2" 2 "$RC"
    case $ERR in
    *"usage: $prog"*) ok "$name: prints the usage on stderr" ;;
    *) bad "$name: prints the usage on stderr" "stderr: $ERR" ;;
    esac
    expect "$name: prints nothing on stdout" "" "$OUT"
}

for prog in mkv-index mkv-volume; do
    echo "# $prog --help and --version"
    for flag in --help -h; do
        run "$prog" "$flag"
        expect "$prog $flag exits 0" 0 "$RC"
        case $OUT in
        "usage: $prog"*) ok "$prog $flag prints the usage on stdout" ;;
        *) bad "$prog $flag prints the usage on stdout" "stdout: $OUT" ;;
        esac
        expect "$prog $flag prints nothing on stderr" "" "$ERR"
    done
    run "$prog" --version
    expect "$prog --version exits 0" 0 "$RC"
    if [[ $OUT =~ ^$prog\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then
        ok "$prog --version prints one line '$prog X.Y.Z'"
    else
        bad "$prog --version prints one line '$prog X.Y.Z'" "stdout: $OUT"
    fi
    expect "$prog --version prints nothing on stderr" "" "$ERR"
done
run mkv-index --version
MKV_INDEX_VERSION=$OUT
run mkv-volume --version
expect "both programs have the same version" "${MKV_INDEX_VERSION#mkv-index }" "${OUT#mkv-volume }"

echo "# mkv-index usage errors"
usage_error "mkv-index with an unknown flag" mkv-index --bogus localhost:3001
usage_error "mkv-index with an unknown short flag" mkv-index -q localhost:3001
usage_error "mkv-index rebuild with an unknown flag" mkv-index rebuild --bogus localhost:3001
usage_error "mkv-index with no volumes" mkv-index
usage_error "mkv-index --s3-port without --s3-credentials" mkv-index --s3-port 3080 localhost:3001
usage_error "mkv-index --s3-credentials without --s3-port" mkv-index --s3-credentials /dev/null localhost:3001
usage_error "mkv-index --s3-port equal to --port" mkv-index --port 3000 --s3-port 3000 --s3-credentials /dev/null localhost:3001
usage_error "mkv-index with flags but no volumes" mkv-index --port 3000 --index "$WORK/indexdb"
usage_error "mkv-index rebuild with no volumes" mkv-index rebuild --index "$WORK/indexdb"
usage_error "mkv-index rebalance with no volumes" mkv-index rebalance --index "$WORK/indexdb"
usage_error "mkv-index --port with no value" mkv-index localhost:3001 --port
usage_error "mkv-index --port 0" mkv-index --port 0 localhost:3001
usage_error "mkv-index --port 65536" mkv-index --port 65536 localhost:3001
usage_error "mkv-index --port x" mkv-index --port x localhost:3001
usage_error "mkv-index --replicas 0" mkv-index --replicas 0 localhost:3001
usage_error "mkv-index --md5sum=maybe" mkv-index --md5sum=maybe localhost:3001
usage_error "mkv-index --index ''" mkv-index --index '' localhost:3001
usage_error "mkv-index with a volume without a port" mkv-index localhost
usage_error "mkv-index with a volume given twice" mkv-index localhost:3001,localhost:3001
usage_error "mkv-index with an empty volume in a list" mkv-index localhost:3001,,localhost:3002
usage_error "mkv-index --fallback without a port" mkv-index --fallback elsewhere localhost:3001

run mkv-index --replicas 3 a:1 b:2
expect "mkv-index --replicas 3 with two volumes exits 2" 2 "$RC"
case $ERR in
*replicas*) ok "mkv-index --replicas 3 with two volumes names replicas in its message" ;;
*) bad "mkv-index --replicas 3 with two volumes names replicas in its message" "stderr: $ERR" ;;
esac
if [ ! -e "$WORK/indexdb" ]; then
    ok "no usage error created the index file"
else
    bad "no usage error created the index file"
fi

echo "# mkv-volume usage errors"
usage_error "mkv-volume with an unknown flag" mkv-volume --bogus
usage_error "mkv-volume with an unknown flag and arguments" mkv-volume --bogus 3001 "$WORK/v"
usage_error "mkv-volume with no arguments" mkv-volume
usage_error "mkv-volume with a port only" mkv-volume 3001
usage_error "mkv-volume with three arguments" mkv-volume 3001 "$WORK/v" extra
for port in 0 65536 99999 abc -1 3001x '' ' 3001' 123456; do
    run mkv-volume "$port" "$WORK/v"
    expect "mkv-volume with port '$port' exits 2" 2 "$RC"
    case $ERR in
    *"invalid port"*"usage: mkv-volume"*) ok "mkv-volume with port '$port' says the port is invalid, then the usage" ;;
    *) bad "mkv-volume with port '$port' says the port is invalid, then the usage" "stderr: $ERR" ;;
    esac
done
usage_error "mkv-volume with an empty PATH" mkv-volume 3001 ''
usage_error "mkv-volume --writers with a bad CIDR" mkv-volume --writers 10.0.0.300 3001 "$WORK/v"
usage_error "mkv-volume --writers with a trailing comma" mkv-volume --writers 127.0.0.1, 3001 "$WORK/v"
usage_error "mkv-volume --writers with no list" mkv-volume --writers
if [ ! -e "$WORK/v" ]; then
    ok "no usage error created the volume directory"
else
    bad "no usage error created the volume directory"
fi

finish
