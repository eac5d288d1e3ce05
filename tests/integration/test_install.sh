#!/bin/bash
# test_install.sh -- `make install` and `make uninstall` with DESTDIR and
# PREFIX: every file where the README says, and nothing else (no build
# output); the installed binaries run; the systemd units name the
# installed binaries and pass systemd-analyze verify; the man pages render
# without a warning and name every flag of --help; uninstall leaves no
# file behind.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib.sh

DEST=$WORK/root
EXPECTED="usr/bin/mkv-index
usr/bin/mkv-volume
usr/lib/systemd/system/mkv-index.service
usr/lib/systemd/system/mkv-volume@.service
usr/share/cmkv/nginx-volume.conf.in
usr/share/man/man1/mkv-index.1
usr/share/man/man1/mkv-volume.1"

# files DIR -- everything but directories under DIR, relative, sorted.
files() { (cd "$1" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort); }

# mk TARGET VAR=VALUE... -- run make quietly from the top of the tree; its
# output goes to $WORK/make.log and is shown when it fails.
mk() {
    if make --no-print-directory "$@" >"$WORK/make.log" 2>&1; then
        ok "make $*"
    else
        bad "make $*" "exit $?"
        sed 's/^/#   /' "$WORK/make.log" | tail -n 30
    fi
}

echo "# make install DESTDIR=... PREFIX=/usr"
mk install DESTDIR="$DEST" PREFIX=/usr
expect "exactly the installed files are in DESTDIR (no build output)" \
    "$EXPECTED" "$(files "$DEST")"
for f in usr/bin/mkv-index usr/bin/mkv-volume; do
    expect "$f is mode 755" 755 "$(stat -c %a "$DEST/$f" 2>/dev/null)"
    if cmp -s "bin/${f##*/}" "$DEST/$f"; then ok "$f is the built binary"; else bad "$f is the built binary"; fi
done
for f in usr/lib/systemd/system/mkv-index.service usr/lib/systemd/system/mkv-volume@.service \
    usr/share/cmkv/nginx-volume.conf.in usr/share/man/man1/mkv-index.1 usr/share/man/man1/mkv-volume.1; do
    expect "$f is mode 644" 644 "$(stat -c %a "$DEST/$f" 2>/dev/null)"
done
if cmp -s conf/nginx-volume.conf.in "$DEST/usr/share/cmkv/nginx-volume.conf.in"; then
    ok "the nginx template is installed as it is"
else
    bad "the nginx template is installed as it is"
fi

echo "# the installed binaries run"
for prog in mkv-index mkv-volume; do
    want=$(bin/$prog --version)
    got=$("$DEST/usr/bin/$prog" --version 2>&1)
    expect "installed $prog --version" "$want" "$got"
    case $want in
    "$prog "[0-9]*.[0-9]*.[0-9]*) ok "$prog --version has the form '$prog X.Y.Z'" ;;
    *) bad "$prog --version has the form '$prog X.Y.Z'" "got '$want'" ;;
    esac
done

echo "# the systemd units"
UNITDIR=$DEST/usr/lib/systemd/system
# shellcheck disable=SC2016 # the $VARIABLES are systemd's, taken literally
expect "mkv-index.service runs the installed mkv-index" \
    'ExecStart=/usr/bin/mkv-index --port 3000 --index /var/lib/cmkv/indexdb $MKV_INDEX_ARGS $VOLUMES' \
    "$(grep '^ExecStart=' "$UNITDIR/mkv-index.service")"
expect "mkv-volume@.service runs the installed mkv-volume on port %i" \
    'ExecStart=/usr/bin/mkv-volume %i /var/lib/cmkv/volume-%i' \
    "$(grep '^ExecStart=' "$UNITDIR/mkv-volume@.service")"
expect "no @BINDIR@ is left in the units" "" "$(grep -l '@BINDIR@' "$UNITDIR"/* 2>/dev/null)"
for u in mkv-index.service mkv-volume@.service; do
    expect "$u differs from conf/$u only by @BINDIR@" "" \
        "$(sed 's|@BINDIR@|/usr/bin|g' "conf/$u" | diff - "$UNITDIR/$u")"
done
# StateDirectory=X is /var/lib/X: it must hold what ExecStart writes.
sd=$(sed -n 's/^StateDirectory=//p' "$UNITDIR/mkv-volume@.service")
expect "the volume's StateDirectory is its ExecStart PATH" \
    "/var/lib/$sd" "$(sed -n 's/^ExecStart=.* //p' "$UNITDIR/mkv-volume@.service")"
sd=$(sed -n 's/^StateDirectory=//p' "$UNITDIR/mkv-index.service")
expect "the index's StateDirectory holds its --index file" \
    "/var/lib/$sd/indexdb" "$(sed -n 's/^ExecStart=.*--index \([^ ]*\).*/\1/p' "$UNITDIR/mkv-index.service")"
for u in mkv-index.service mkv-volume@.service; do
    # shellcheck disable=SC2016 # $MAINPID is systemd's
    for want in 'EnvironmentFile=-/etc/default/cmkv' 'Restart=on-failure' \
        'KillSignal=SIGTERM' 'TimeoutStopSec=20' 'ExecReload=/bin/kill -HUP $MAINPID' \
        'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
        'PrivateDevices=yes' 'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' \
        'ProtectKernelLogs=yes' 'ProtectControlGroups=yes' \
        'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'RestrictNamespaces=yes' \
        'LockPersonality=yes' 'MemoryDenyWriteExecute=yes' 'SystemCallArchitectures=native' \
        'User=cmkv'; do
        if grep -qxF "$want" "$UNITDIR/$u"; then ok "$u has $want"; else bad "$u has $want"; fi
    done
done
if command -v systemd-analyze >/dev/null 2>&1; then
    # Verify copies that point at the binaries under DESTDIR (the real
    # /usr/bin has none), finding the man pages of Documentation= there.
    mkdir -p "$WORK/units"
    for u in mkv-index.service mkv-volume@.service; do
        sed "s|/usr/bin/mkv-|$DEST/usr/bin/mkv-|" "$UNITDIR/$u" >"$WORK/units/$u"
    done
    if (cd "$WORK/units" && MANPATH=$DEST/usr/share/man \
        systemd-analyze verify ./mkv-index.service ./mkv-volume@.service) >"$WORK/verify.out" 2>&1; then
        ok "systemd-analyze verify passes both units"
    else
        bad "systemd-analyze verify passes both units"
        sed 's/^/#   /' "$WORK/verify.out"
    fi
else
    skip "systemd-analyze is not installed: units not verified"
fi

echo "# the man pages"
MANDIR=$DEST/usr/share/man/man1
for page in mkv-index mkv-volume; do
    for sect in NAME SYNOPSIS DESCRIPTION OPTIONS 'HTTP API' SIGNALS FILES 'EXIT STATUS' EXAMPLES 'SEE ALSO'; do
        if grep -qx "\.SH \"\{0,1\}$sect\"\{0,1\}" "$MANDIR/$page.1"; then
            ok "$page(1) has a $sect section"
        else
            bad "$page(1) has a $sect section"
        fi
    done
done
if grep -qx '\.SH COMMANDS' "$MANDIR/mkv-index.1"; then ok "mkv-index(1) has a COMMANDS section"; else bad "mkv-index(1) has a COMMANDS section"; fi
if command -v groff >/dev/null 2>&1; then
    for page in mkv-index mkv-volume; do
        expect "$page(1) renders with groff -ww without a warning" "" \
            "$(groff -man -Tutf8 -ww -z "$MANDIR/$page.1" 2>&1)"
    done
else
    skip "groff is not installed: man pages not rendered"
fi
if command -v man >/dev/null 2>&1; then
    for page in mkv-index mkv-volume; do
        MANWIDTH=80 man -l "$MANDIR/$page.1" >"$WORK/$page.txt" 2>"$WORK/$page.manerr"
        expect "man -l $page.1 says nothing on stderr" "" "$(cat "$WORK/$page.manerr")"
        if grep -q "^NAME" "$WORK/$page.txt" && grep -q "^ *$page - " "$WORK/$page.txt"; then
            ok "man -l $page.1 shows the NAME line"
        else
            bad "man -l $page.1 shows the NAME line" "$(head -n 5 "$WORK/$page.txt")"
        fi
    done
    # Every flag --help names is documented (the man page keeps up).
    for flag in $(bin/mkv-index --help | grep -o -- '--[a-z][a-z0-9-]*' | sort -u) --help --version; do
        if grep -Eq -- "^ *(-[a-z], )?$flag\b" "$WORK/mkv-index.txt"; then
            ok "mkv-index(1) documents $flag"
        else
            bad "mkv-index(1) documents $flag"
        fi
    done
    for word in '?health' '?metrics' SIGHUP rebuild rebalance reconcile; do
        if grep -qF -- "$word" "$WORK/mkv-index.txt"; then ok "mkv-index(1) mentions $word"; else bad "mkv-index(1) mentions $word"; fi
    done
    for word in NGINX MKV_VOLUME_TEMPLATE TMPDIR SIGHUP; do
        if grep -qF -- "$word" "$WORK/mkv-volume.txt"; then ok "mkv-volume(1) mentions $word"; else bad "mkv-volume(1) mentions $word"; fi
    done
else
    skip "man is not installed: man pages not formatted"
fi

echo "# make uninstall DESTDIR=... PREFIX=/usr"
mk uninstall DESTDIR="$DEST" PREFIX=/usr
expect "uninstall leaves no file in DESTDIR" "" "$(files "$DEST")"
if [ ! -e "$DEST/usr/share/cmkv" ]; then ok "uninstall removes share/cmkv"; else bad "uninstall removes share/cmkv"; fi
echo "# make uninstall again: nothing left to remove is no error"
mk uninstall DESTDIR="$DEST" PREFIX=/usr

echo "# the default PREFIX is /usr/local"
DEST2=$WORK/root2
mk install DESTDIR="$DEST2"
expect "everything goes under usr/local" "${EXPECTED//usr\//usr/local/}" \
    "$(files "$DEST2")"
expect "the unit runs /usr/local/bin/mkv-volume" \
    'ExecStart=/usr/local/bin/mkv-volume %i /var/lib/cmkv/volume-%i' \
    "$(grep '^ExecStart=' "$DEST2/usr/local/lib/systemd/system/mkv-volume@.service")"
mk uninstall DESTDIR="$DEST2"
expect "uninstall with the default PREFIX leaves no file" "" "$(files "$DEST2")"

finish
