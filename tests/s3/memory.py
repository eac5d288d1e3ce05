# memory.py ENDPOINT KEY SECRET INDEX_PID SIZE_MIB check|report -- a
# GetObject of SIZE_MIB is streamed through the index: the bytes arrive
# whole and (check) its resident memory grows by at most 16 MiB while the
# object goes by; report only prints the figures.
import hashlib
import http.client
import os
import sys
import urllib.parse
import urllib.request

from common import check, client, equal

ep, key, secret, pid, mib, bound = sys.argv[1:7]
size = int(mib) << 20
s3 = client(ep, key, secret)
s3.create_bucket(Bucket="memory")


def rss_kib():
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Pattern:
    """SIZE bytes of a repeating random block, read as a file (no copy in memory)."""
    def __init__(self, n):
        self.block, self.n, self.off = os.urandom(1 << 20), n, 0
        self.h = hashlib.sha256()

    def read(self, k=-1):
        k = self.n - self.off if k < 0 else min(k, self.n - self.off)
        out = b""
        while len(out) < k:
            pos = (self.off + len(out)) % len(self.block)
            out += self.block[pos:pos + k - len(out)]
        self.off += len(out)
        self.h.update(out)
        return out


src = Pattern(size)
put_url = s3.generate_presigned_url("put_object", Params={"Bucket": "memory", "Key": "big"},
                                    ExpiresIn=600)
u = urllib.parse.urlparse(put_url)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
conn.putrequest("PUT", u.path + "?" + u.query)
conn.putheader("Content-Length", str(size))
conn.endheaders()
while True:
    b = src.read(1 << 20)
    if not b:
        break
    conn.send(b)
r = conn.getresponse()
r.read()
check("a %s MiB object goes up" % mib, lambda: equal(200, r.status))
get_url = s3.generate_presigned_url("get_object", Params={"Bucket": "memory", "Key": "big"},
                                    ExpiresIn=600)
before = rss_kib()
peak = before
h = hashlib.sha256()
n = 0
with urllib.request.urlopen(get_url, timeout=120) as resp:
    while True:
        b = resp.read(1 << 20)
        if not b:
            break
        h.update(b)
        n += len(b)
        if (n >> 20) % 16 == 0:
            peak = max(peak, rss_kib())
check("the %s MiB GetObject arrives whole" % mib, lambda: equal(src.h.hexdigest(), h.hexdigest()))
print("# index RSS before %d KiB, peak %d KiB during the GetObject" % (before, peak))
if bound == "check":
    check("the index's memory grows by at most 16 MiB while it streams", lambda: equal(
        True, peak - before <= 16 * 1024))
s3.delete_object(Bucket="memory", Key="big")
