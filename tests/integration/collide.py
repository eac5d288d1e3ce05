"""collide.py -- pairs of keys whose pymkv (nested) paths collide: the path
of the first is a directory of the second's, as "/qx" (/71/da/L3F4) is of
"/qx\\xff/Cz" (/71/da/L3F4/y9Deg==). Found by brute force on md5's first
two bytes (about 65536 tries a pair), from a fixed start, so every run
finds the same pairs.

    python3 tests/integration/collide.py N     N pairs, one a line:
                                               "HEXKEY1 HEXKEY2 URL1 URL2"
    from collide import pairs                  pairs(n) -> [(bytes, bytes)]

The first key of pair i is "/c" + a digit (3 bytes, so its base64 is 4
characters with no padding); for even i it is a plain key (no '/' in
its base64), for odd i it ends in '?' so that its own base64 ends in '/'
and it nests as well. The second key is the first + 0xff (base64 '/'
follows) + a counter, tried until md5 agrees on the first two bytes.
"""
import base64
import hashlib
import sys
import urllib.parse


def pairs(n):
    out = []
    for i in range(n):
        a = b"/c%d" % i if i % 2 == 0 else b"/%d?" % i
        assert len(a) == 3, "keep the first key 3 bytes"
        want = hashlib.md5(a).digest()[:2]
        prefix = base64.b64encode(a).decode() + "/"
        for c in range(1 << 24):
            b = a + b"\xff" + b"%d" % c
            if hashlib.md5(b).digest()[:2] == want:
                assert base64.b64encode(b).decode().startswith(prefix)
                out.append((a, b))
                break
        else:
            raise SystemExit("no pair found for %r" % a)
    return out


if __name__ == "__main__":
    for a, b in pairs(int(sys.argv[1])):
        print(a.hex(), b.hex(), urllib.parse.quote(a, safe="/"),
              urllib.parse.quote(b, safe="/"))
