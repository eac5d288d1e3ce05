"""vname.py -- cmkv's on-volume path of a key, computed independently of
the C code (Python's hashlib and base64): pymkv's path, with empty
segments written "-" and segments over 255 bytes cut at 254 + "-".

    python3 tests/integration/vname.py KEY    prints the path
    from vname import vname                   vname(key bytes) -> str
"""
import base64
import hashlib
import sys


def vname(k):
    d = hashlib.md5(k).digest()
    segs = []
    for s in base64.b64encode(k).decode().split("/"):
        if s == "":
            segs.append("-")
            continue
        while len(s) > 255:
            segs.append(s[:254] + "-")
            s = s[254:]
        segs.append(s)
    return "/%02x/%02x/%s" % (d[0], d[1], "/".join(segs))


if __name__ == "__main__":
    print(vname(sys.argv[1].encode("utf-8", "surrogateescape")))
