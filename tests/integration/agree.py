"""agree.py -- the agreement check between an index file and its volumes'
directories, independent of the C code (Python's dbm.gnu, hashlib and
vname.py):

  - every live record's replicas are files at the record's path (its
    name form: "FLAT" or nested) holding the value the client was told
    was stored (201), and the record's md5 when it has one;
  - every acknowledged key has a live record, every key acknowledged as
    deleted has none;
  - every file on a volume (outside .nginx) is named by a live or
    unlinked record.

    python3 tests/integration/agree.py INDEX ACKED VOLUME=DIR...

ACKED has one line per key the test wrote, "HEXKEY MD5" (the value that
got 201) or "HEXKEY -" (a DELETE that got 204); "" for none. Prints
"agree: N records, M files" and exits 0, or prints each disagreement
(at most 20) and exits 1.
"""
import dbm.gnu
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vname import vname  # noqa: E402


def parse(rec):
    """(state, flat, md5, volumes) of a record's bytes."""
    state = ""
    for p in (b"DELETED", b"WRITING"):
        if rec.startswith(p):
            state, rec = p.decode(), rec[len(p):]
    flat = rec.startswith(b"FLAT")
    if flat:
        rec = rec[4:]
    md5 = ""
    if rec.startswith(b"HASH"):
        md5, rec = rec[4:36].decode(), rec[36:]
    return state, flat, md5, rec.decode().split(",")


def main():
    index, acked, vols = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
    problems = []
    named = set()
    want = {}
    if acked:
        with open(acked) as f:
            for line in f:
                k, v = line.split()
                want[bytes.fromhex(k)] = v
    db = dbm.gnu.open(index, "r")
    nrec = 0
    k = db.firstkey()
    while k is not None:
        nrec += 1
        state, flat, md5, volumes = parse(db[k])
        path = vname(k, nested=not flat)
        for v in volumes:
            host, _, sv = v.partition("/")
            if host not in vols:
                problems.append("%r names a volume not checked: %s" % (k, v))
                continue
            f = os.path.join(vols[host], sv) + path
            if state != "WRITING":
                named.add(os.path.normpath(f))
            if state:
                continue
            try:
                with open(f, "rb") as fh:
                    got = hashlib.md5(fh.read()).hexdigest()
            except OSError as e:
                problems.append("%r: replica %s missing (%s)" % (k, f, e.strerror))
                continue
            if md5 and got != md5:
                problems.append("%r: replica %s has md5 %s, the record %s" % (k, f, got, md5))
            if k in want and want[k] != "-" and got != want[k]:
                problems.append("%r: replica %s is not the acknowledged value" % (k, f))
        if k in want and want[k] == "-":
            problems.append("%r was deleted (204) but has a record %r" % (k, db[k][:60]))
        if k in want and want[k] != "-" and state:
            problems.append("%r was stored (201) but its record is %s" % (k, state))
        k = db.nextkey(k)
    for k, v in want.items():
        if v != "-" and k not in db:
            problems.append("%r was stored (201) but has no record" % k)
    db.close()
    nfiles = 0
    for host, d in vols.items():
        for root, dirs, files in os.walk(d):
            if ".nginx" in dirs and root == d:
                dirs.remove(".nginx")
            for name in files:
                nfiles += 1
                f = os.path.normpath(os.path.join(root, name))
                if f not in named:
                    problems.append("file %s is named by no live or unlinked record" % f)
    for p in problems[:20]:
        print(p)
    if problems:
        print("agree: %d disagreements" % len(problems))
        sys.exit(1)
    print("agree: %d records, %d files" % (nrec, nfiles))


if __name__ == "__main__":
    main()
