#!/usr/bin/env python3
"""mkdb.py PATH N VOLUME -- write a GDBM index of N records /k%07d -> VOLUME
with Python's dbm.gnu (as pymkv writes it) and print the seconds it took.
Used by scripts/bench.sh for its scale rows.
"""
import dbm.gnu, sys, time
path, n, vol = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
t = time.monotonic()
db = dbm.gnu.open(path, "nf")
for i in range(n):
    db[b"/k%07d" % i] = vol
db.close()
print("%.1f" % (time.monotonic() - t))
