#!/bin/sh
# deps.sh -- install the Debian packages cmkv builds, runs and tests with.
# As root it runs apt-get for whatever is missing; otherwise it prints the
# exact command to run and fails.
set -eu

PKGS="build-essential pkg-config libmicrohttpd-dev libcurl4-openssl-dev
libgdbm-dev libleveldb-dev libssl-dev libcmocka-dev nginx-light curl python3 python3-gdbm
python3-boto3 awscli s3cmd
procps iproute2 iptables"
# A target that needs more (valgrind, clang) names it: deps.sh PKG...
PKGS="$PKGS $*"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing="$missing $p"
    fi
done
# nginx-light, nginx-core, nginx-full and nginx-extras all carry the DAV
# module; any of them will do.
case "$missing" in
*nginx-light*)
    if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then
        missing=$(echo "$missing" | sed 's/ nginx-light//')
    fi ;;
esac
[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages:$missing" >&2
    echo "deps: run as root: apt-get update && $cmd" >&2
    exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
