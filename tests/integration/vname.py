"""vname.py -- cmkv's on-volume path of a key, computed independently of
the C code (Python's hashlib and base64). The nested form is pymkv's
path, with empty segments written "-" and segments over 255 bytes cut at
254 + "-"; the flat form, what new writes use, writes each '/' of the
base64 as '_' and only cuts it by length.

    python3 tests/integration/vname.py KEY           the path a new write uses
    python3 tests/integration/vname.py --nested KEY  the nested (pymkv) path
    from vname import vname                          vname(key bytes, nested=False) -> str
"""
import base64
import hashlib
import sys


def cut(s):
    """s as names of at most 255 bytes: 254 + "-" pieces, then the rest."""
    segs = []
    while len(s) > 255:
        segs.append(s[:254] + "-")
        s = s[254:]
    segs.append(s)
    return segs


def vname(k, nested=False):
    d = hashlib.md5(k).digest()
    b64 = base64.b64encode(k).decode()
    segs = []
    if nested:
        for s in b64.split("/"):
            segs.extend(cut(s) if s else ["-"])
    else:
        segs = cut(b64.replace("/", "_"))
    return "/%02x/%02x/%s" % (d[0], d[1], "/".join(segs))


if __name__ == "__main__":
    nested = sys.argv[1] == "--nested"
    print(vname(sys.argv[-1].encode("utf-8", "surrogateescape"), nested))
