"""listing.py -- the listing checks of test_listing.sh, spoken over HTTP.

  listing.py page URL PREFIX LIMIT [url]   page through PREFIX, print each key
                                           (percent-encoded form with "url")
  listing.py model URL                     listing against a model while keys
                                           are PUT, DELETEd and UNLINKed
  listing.py flat URL PID KEYS             one listing of every key while PUTs
                                           run: memory and PUT delay
  listing.py puts URL PREFIX N             PUT PREFIX1..PREFIXN, a line each

Each prints "ok - ..." / "not ok - ..." lines for lib.sh's counting."""
import http.client
import json
import sys
import threading
import time
import urllib.parse


def conn(url):
    u = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def request(c, method, path, body=None):
    c.request(method, path, body=body)
    r = c.getresponse()
    data = r.read()
    return r.status, data


def q(key):
    """The exact key bytes as a URL path (bytes -> %XX for all but safe)."""
    return urllib.parse.quote(key, safe="/")


def report(ok, name, detail=""):
    print(("ok - " if ok else "not ok - ") + name + ("" if ok else " (%s)" % detail))
    return ok


def page_all(c, prefix, limit, url_form, unlinked=False, between=None):
    """Follow next from the start; returns the keys as bytes, in order."""
    keys, start, pages = [], None, 0
    op = "unlinked" if unlinked else "list"
    while True:
        path = q(prefix) + "?" + op + "&limit=%d" % limit
        if url_form:
            path += "&encoding=url"
        if start is not None:
            path += "&start=" + start
        st, body = request(c, "GET", path)
        if st != 200:
            raise RuntimeError("GET %s: %d" % (path, st))
        doc = json.loads(body)
        for k in doc["keys"]:
            keys.append(urllib.parse.unquote_to_bytes(k) if url_form else k.encode())
        nxt = doc.get("next_url") if not url_form and "next_url" in doc else doc["next"]
        pages += 1
        if nxt == "":
            return keys
        if pages > 100000:
            raise RuntimeError("paging does not end")
        start = nxt if (url_form or "next_url" in doc) else q(nxt.encode())
        if between:
            between(keys)


def cmd_page(url, prefix, limit, form=""):
    c = conn(url)
    for k in page_all(c, urllib.parse.unquote_to_bytes(prefix), int(limit), form == "url"):
        print(q(k))


def cmd_model(url):
    c = conn(url)
    live, unlinked = set(), set()
    for i in range(300):
        k = b"/m/%03d" % i
        st, _ = request(c, "PUT", q(k), b"v")
        assert st == 201, st
        live.add(k)
    untouched = set(live)
    absent_throughout = {b"/m/%03d" % i for i in range(300, 330)}
    step = [0]

    def mutate(seen):
        # Between pages: add keys, DELETE and UNLINK others, ahead of and
        # behind the walk.
        s = step[0]
        step[0] += 1
        new = b"/m/%03d+%d" % ((s * 37) % 300, s)
        st, _ = request(c, "PUT", q(new), b"n")
        assert st == 201, st
        live.add(new)
        for k in (b"/m/%03d" % ((s * 53 + 11) % 300), b"/m/%03d" % ((s * 29 + 3) % 300)):
            if k in live:
                if s % 2:
                    st, _ = request(c, "DELETE", q(k))
                    assert st == 204, (st, k)
                    live.discard(k)
                else:
                    st, _ = request(c, "UNLINK", q(k))
                    assert st == 204, (st, k)
                    live.discard(k)
                    unlinked.add(k)
                untouched.discard(k)

    keys = page_all(c, b"/m/", 7, True, between=mutate)
    ok = report(keys == sorted(keys) and len(keys) == len(set(keys)),
                "a paged listing under writes is in order and names no key twice",
                "%d keys, %d distinct" % (len(keys), len(set(keys))))
    missing = untouched - set(keys)
    ok &= report(not missing, "every key left alone during the walk is in it",
                 "missing %r" % sorted(missing)[:5])
    ghosts = absent_throughout & set(keys)
    ok &= report(not ghosts, "no key absent throughout appears", repr(sorted(ghosts)[:5]))
    after = page_all(c, b"/m/", 1000, True)
    ok &= report(set(after) == live and len(after) == len(live),
                 "afterwards the listing is exactly the live keys",
                 "%d listed, %d live" % (len(after), len(live)))
    gone = page_all(c, b"/m/", 1000, True, unlinked=True)
    ok &= report(set(gone) == unlinked, "and ?unlinked exactly the unlinked ones",
                 "%d listed, %d unlinked" % (len(gone), len(unlinked)))
    sys.exit(0 if ok else 1)


def rss_anon_kb(pid):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def cmd_flat(url, pid, nkeys):
    nkeys = int(nkeys)
    delays, stop = [], threading.Event()

    failed = []

    def putter(out, name):
        c = conn(url)
        i = 0
        while not stop.is_set() and i < 5000:
            t = time.monotonic()
            st, _ = request(c, "PUT", "/flat/%s/%d" % (name, i), b"x")
            out.append(time.monotonic() - t)
            if st != 201:
                failed.append(st)
            i += 1
            time.sleep(0.002)

    base = []
    th = threading.Thread(target=putter, args=(base, "idle"))
    th.start()
    time.sleep(1.0)
    stop.set()
    th.join()
    stop.clear()
    before = rss_anon_kb(pid)
    peak = [before]
    th = threading.Thread(target=putter, args=(delays, "busy"))
    th.start()
    c = conn(url)
    c.request("GET", "/bench/?list")
    r = c.getresponse()
    count, tail, t0 = 0, b"", time.monotonic()
    while True:
        chunk = r.read(65536)
        if not chunk:
            break
        data = tail + chunk
        count += data.count(b'"/bench/')
        tail = data[-16:]
        count -= tail.count(b'"/bench/')
        peak[0] = max(peak[0], rss_anon_kb(pid))
    count += tail.count(b'"/bench/')
    took = time.monotonic() - t0
    stop.set()
    th.join()
    base.sort()
    delays.sort()

    def p(xs, f):
        return xs[min(len(xs) - 1, int(len(xs) * f))] * 1000 if xs else 0.0

    ok = report(r.status == 200 and count == nkeys, "one listing streams all %d keys" % nkeys,
                "status %d, %d keys" % (r.status, count))
    grew = (peak[0] - before) / 1024
    ok &= report(grew <= 32, "the index's private memory stays flat while it streams "
                 "(grew %.1f MiB)" % grew, "grew %.1f MiB" % grew)
    print("# listing took %.2f s; PUT p50 %.1f ms, p99 %.1f ms, max %.1f ms during it "
          "(idle p50 %.1f, p99 %.1f)" % (took, p(delays, .5), p(delays, .99), p(delays, 1),
                                         p(base, .5), p(base, .99)))
    ok &= report(bool(delays) and not failed, "every PUT during it was answered 201",
                 "%d PUTs, statuses %r" % (len(delays), failed[:5]))
    # A few ms on its own; the bound leaves room for a sanitizer build.
    ok &= report(p(delays, .99) <= p(base, .99) + 25,
                 "PUTs during the listing are not held up by it",
                 "p99 %.1f ms against %.1f idle" % (p(delays, .99), p(base, .99)))
    sys.exit(0 if ok else 1)


def cmd_puts(url, prefix, n):
    c = conn(url)
    for i in range(1, int(n) + 1):
        st, _ = request(c, "PUT", "%s%d" % (prefix, i), b"x")
        print("PUT %s%d%s" % (prefix, i, "" if st == 201 else ": %d" % st))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "page":
        cmd_page(*sys.argv[2:])
    elif cmd == "model":
        cmd_model(sys.argv[2])
    elif cmd == "puts":
        cmd_puts(*sys.argv[2:])
    elif cmd == "flat":
        cmd_flat(*sys.argv[2:])
