#!/bin/bash
# test_netns.sh -- three volumes, each in a network namespace of its own
# behind a veth pair with 20 ms of delay and 1% loss (tc netem), and the
# index in the root namespace talking to them: PUT, GET and DELETE work
# across it, a partitioned volume fails promptly without holding up the
# others, and it serves again once healed.
#
# Traffic goes only to addresses this test creates: 10.200.X.2 inside
# each namespace (10.200.X.1 is the root end of its veth) and loopback.
# Without permission to create namespaces the test is skipped; where the
# kernel has no netem, 1% loss is made with iptables' statistic match in
# the namespaces instead and the delay check is skipped.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

NSS=() # namespaces made here; deleting one deletes its veth pair
ns_cleanup() {
    local ns
    for ns in "${NSS[@]}"; do ip netns delete "$ns" 2>/dev/null; done
}
# Daemons first (lib.sh's cleanup), then their namespaces.
trap 'cleanup; ns_cleanup' EXIT

if ! ip netns add "cmkv$$-probe" 2>/dev/null; then
    skip "network namespaces not permitted"
    finish
    exit
fi
ip netns delete "cmkv$$-probe"

# subnet_free X -- 10.200.X.0/24 is neither an address nor a route here.
subnet_free() { ! ip -4 route show table all | grep -q "10\.200\.$1\."; }

X=()      # third octet of volume i's subnet
HOST=()   # root end of volume i's veth
INNER=()  # namespace end
x=$((20 + $$ % 200))
for i in 0 1 2; do
    while ! subnet_free "$x"; do x=$(( (x + 1) % 250 + 1 )); done
    ns="cmkv$$-v$i"
    ip netns add "$ns" || { bad "create namespace $ns"; finish; exit; }
    NSS+=("$ns")
    X+=("$x")
    HOST+=("ck$$h$i")
    INNER+=("ck$$n$i")
    if ! { ip link add "ck$$h$i" type veth peer name "ck$$n$i" netns "$ns" &&
           ip addr add "10.200.$x.1/24" dev "ck$$h$i" &&
           ip link set "ck$$h$i" up &&
           ip -n "$ns" addr add "10.200.$x.2/24" dev "ck$$n$i" &&
           ip -n "$ns" link set "ck$$n$i" up &&
           ip -n "$ns" link set lo up; } 2>"$WORK/ip.err"; then
        bad "a veth pair into namespace $ns" "$(head -n 1 "$WORK/ip.err")"
        finish
        exit
    fi
    x=$(( (x + 1) % 250 + 1 ))
done
ok "three namespaces with a veth pair each"

# Delay and loss on both ends of every veth.
IMPAIR=none
if tc qdisc add dev "${HOST[0]}" root netem delay 20ms loss 1% 2>"$WORK/tc.err"; then
    IMPAIR=netem
    for i in 0 1 2; do
        [ "$i" = 0 ] || tc qdisc add dev "${HOST[$i]}" root netem delay 20ms loss 1%
        ip netns exec "${NSS[$i]}" tc qdisc add dev "${INNER[$i]}" root netem delay 20ms loss 1%
    done
elif command -v iptables >/dev/null 2>&1 &&
     ip netns exec "${NSS[0]}" iptables -A INPUT -m statistic --mode random --probability 0.01 -j DROP 2>>"$WORK/tc.err"; then
    IMPAIR=iptables
    for i in 0 1 2; do
        [ "$i" = 0 ] || ip netns exec "${NSS[$i]}" iptables -A INPUT -m statistic --mode random --probability 0.01 -j DROP
        ip netns exec "${NSS[$i]}" iptables -A OUTPUT -m statistic --mode random --probability 0.01 -j DROP
    done
fi
echo "# impairment: $IMPAIR"

# The volumes: a port free here, used inside each namespace.
VP=$(free_port)
VOLS=""
VPIDS=()
for i in 0 1 2; do
    ip netns exec "${NSS[$i]}" "$BIN"/mkv-volume "$VP" "$WORK/v$i" >"$WORK/v$i.log" 2>&1 &
    PIDS="$PIDS $!"
    VPIDS+=("$!")
    VOLS="$VOLS 10.200.${X[$i]}.2:$VP"
done
VOLS=${VOLS# }
read -r -a VOLA <<<"$VOLS"
up=0
for i in 0 1 2; do wait_http "http://${VOLA[$i]}/" && up=$((up + 1)); done
expect "each volume answers at its namespace address" 3 "$up"
expect "and not on loopback here" 000 \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$VP/")"

case $IMPAIR in
netem)
    t=$(curl -s -o /dev/null -w '%{time_connect}' --max-time 5 "http://${VOLA[0]}/")
    if awk -v t="$t" 'BEGIN { exit !(t >= 0.035) }'; then
        ok "netem delays a connect by 2 x 20 ms (${t} s)"
    else
        bad "netem delays a connect by 2 x 20 ms" "${t} s"
    fi ;;
iptables)
    skip "netem is not in this kernel ($(head -n 1 "$WORK/tc.err")): no 20 ms delay; 1% loss made with iptables in the namespaces" ;;
*)
    skip "neither netem nor iptables here: no delay or loss on the veths ($(head -n 1 "$WORK/tc.err"))" ;;
esac

# shellcheck disable=SC2086
start_index "$WORK/indexdb" --connect-timeout 2000 --voltimeout 3000 --stall-timeout 3000 $VOLS || exit 1

# keyon I PREFIX -- the first key PREFIX/N that lives on volume I.
keyon() {
    $PY -c '
import hashlib, sys
vols = sys.argv[1].split(); want = int(sys.argv[2])
for n in range(100000):
    k = ("%s/%d" % (sys.argv[3], n)).encode()
    if max(range(len(vols)), key=lambda i: hashlib.md5(vols[i].encode() + k).digest()) == want:
        print(k.decode()); break' "$VOLS" "$1" "$2"
}

echo "# PUT, GET and DELETE across the namespaces"
N=24
mkdir -p "$WORK/vals" "$WORK/st"
for j in $(seq "$N"); do
    head -c $((1024 + RANDOM % 15360)) /dev/urandom >"$WORK/vals/$j"
done
head -c 4M /dev/urandom >"$WORK/vals/big"
# all METHOD -- the request for every key at once (each in the
# background, bounded by curl's --max-time); statuses in $WORK/st/.
all() {
    local j pids=""
    rm -f "$WORK"/st/*
    for j in $(seq "$N") big; do
        case $1 in
        PUT) code -X PUT --data-binary @"$WORK/vals/$j" "$URL/ns/key$j" >"$WORK/st/$j" & ;;
        GET) curl -s -L -o "$WORK/st/$j.got" --max-time 20 "$URL/ns/key$j" & ;;
        HEAD) code -I "$URL/ns/key$j" >"$WORK/st/$j" & ;;
        *) code -X "$1" "$URL/ns/key$j" >"$WORK/st/$j" & ;;
        esac
        pids="$pids $!"
    done
    # shellcheck disable=SC2086
    wait $pids
}
# count STATUS -- how many keys got STATUS in the last all().
count() {
    local f
    for f in "$WORK"/st/*[0-9g]; do cat "$f"; echo; done | grep -c "^$1\$"
}

all PUT
expect "$((N + 1)) parallel puts (one of 4 MiB) all answer 201" $((N + 1)) "$(count 201)"
all GET
same=0
for j in $(seq "$N") big; do cmp -s "$WORK/vals/$j" "$WORK/st/$j.got" && same=$((same + 1)); done
expect "every value reads back byte for byte through the redirect" $((N + 1)) "$same"
# Placement and path of every key at once (pymkv's rules, in Python).
$PY -c '
import base64, hashlib, sys
vols = sys.argv[1].split()
for j in range(1, int(sys.argv[2]) + 1):
    k = b"/ns/key%d" % j
    w = max(range(len(vols)), key=lambda i: hashlib.md5(vols[i].encode() + k).digest())
    d = hashlib.md5(k).digest()
    print(j, w, "/%02x/%02x/%s" % (d[0], d[1], base64.b64encode(k).decode()))' "$VOLS" "$N" >"$WORK/placed"
onvol=(0 0 0)
misplaced=0
while read -r j w path; do
    onvol[$w]=$((onvol[w] + 1))
    cmp -s "$WORK/vals/$j" "$WORK/v$w$path" || misplaced=$((misplaced + 1))
done <"$WORK/placed"
expect "each value is a file on the volume placement names" 0 "$misplaced"
if [ "${onvol[0]}" -gt 0 ] && [ "${onvol[1]}" -gt 0 ] && [ "${onvol[2]}" -gt 0 ]; then
    ok "all three namespaces hold keys (${onvol[*]})"
else
    bad "all three namespaces hold keys" "${onvol[*]}"
fi
all DELETE
expect "every delete answers 204" $((N + 1)) "$(count 204)"
all HEAD
expect "and every key is gone" $((N + 1)) "$(count 404)"
left=$(find "$WORK/v0" "$WORK/v1" "$WORK/v2" -type f ! -path '*/.nginx/*' | wc -l)
expect "and so is every file" 0 "$left"

echo "# a partitioned volume"
expect "put a key on volume 0 before the partition" 201 "$(code -X PUT -d before "$URL$(keyon 0 /before)")"
# Drop everything from and to volume 0's namespace.
if command -v iptables >/dev/null 2>&1; then
    ip netns exec "${NSS[0]}" iptables -I INPUT 1 -j DROP &&
        ip netns exec "${NSS[0]}" iptables -I OUTPUT 1 -j DROP
    heal() { ip netns exec "${NSS[0]}" iptables -D INPUT -j DROP; ip netns exec "${NSS[0]}" iptables -D OUTPUT -j DROP; }
    PARTED=yes
elif [ "$IMPAIR" = netem ]; then
    tc qdisc change dev "${HOST[0]}" root netem loss 100%
    heal() { tc qdisc change dev "${HOST[0]}" root netem delay 20ms loss 1%; }
    PARTED=yes
else
    PARTED=""
fi
if [ -n "$PARTED" ]; then
    kd=$(keyon 0 /during)
    t0=$(date +%s%N)
    got=$(code -X PUT -d during "$URL$kd")
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    case $got in 503 | 504) ok "a put to the partitioned volume answers $got" ;;
    *) bad "a put to the partitioned volume answers 503 or 504" "got $got" ;; esac
    # --connect-timeout 2000 plus --voltimeout 3000 (a stall) at most.
    if [ "$ms" -lt 5500 ]; then ok "within the timeouts (${ms} ms)"; else bad "within the timeouts" "${ms} ms"; fi
    expect "and stores no key" 404 "$(code "$URL$kd")"
    # The other volumes are not held up meanwhile.
    code -X PUT -d slow "$URL$(keyon 0 /again)" >/dev/null &
    slow=$!
    sleep 0.2
    k1=$(keyon 1 /meanwhile)
    k2=$(keyon 2 /meanwhile)
    t0=$(date +%s%N)
    expect "meanwhile a put to volume 1 answers 201" 201 "$(code -X PUT -d v1 "$URL$k1")"
    expect "and one to volume 2" 201 "$(code -X PUT -d v2 "$URL$k2")"
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    if [ "$ms" -lt 2000 ]; then ok "both within 2 s (${ms} ms)"; else bad "both within 2 s" "${ms} ms"; fi
    kill "$slow" 2>/dev/null # the client of the stalled put; its answer is not checked
    wait "$slow"
    heal
    for _ in $(seq 20); do
        got=$(curl -s -L --max-time 3 "$URL$(keyon 0 /before)")
        [ "$got" = before ] && break
        sleep 0.25
    done
    expect "after healing, the key on volume 0 reads back" before "$got"
    k0=$(keyon 0 /healed)
    expect "and a new put to volume 0 answers 201" 201 "$(code -X PUT -d after "$URL$k0")"
    expect "and reads back" after "$(curl -s -L --max-time 5 "$URL$k0")"
else
    skip "partition: neither iptables nor netem here"
fi

finish
