#!/usr/bin/env python3
"""check-includes.py -- fail on an include cycle between cmkv's modules.

A module is a .c file under src/ and its header (the .h of the same name
under include/, in the same subfolder or beside it). Module A depends on
module B when A's .c or .h includes B's header. Any cycle in that graph
is reported with the path that closes it, and the exit status is 1.

Two rules of the layout are checked as well: only the daemons' mains
include the server (server.h), and only the server includes the route
table (route.h), so no handler can reach back into the front.

Usage: scripts/check-includes.py [ROOT]   (ROOT: the checkout, default .)"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
ONLY = {"server.h": {"index_main"}, "route.h": {"server"}}


def files(root, top, ext):
    for d, _, names in os.walk(os.path.join(root, top)):
        for n in names:
            if n.endswith(ext):
                yield os.path.join(d, n)


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = INCLUDE.match(line)
            if m:
                yield os.path.basename(m.group(1))


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    modules = {os.path.basename(p)[:-2]: p for p in files(root, "src", ".c")}
    headers = {os.path.basename(p)[:-2]: p for p in files(root, "include", ".h")}
    headers.update({os.path.basename(p)[:-2]: p for p in files(root, "src", ".h")})
    deps, bad = {m: set() for m in modules}, []
    for m in modules:
        for path in (modules[m], headers.get(m)):
            if path is None:
                continue
            for h in includes(path):
                name = h[:-2]
                if h in ONLY and name != m and m not in ONLY[h]:
                    bad.append("%s includes %s (only %s may)" % (path, h, ", ".join(sorted(ONLY[h]))))
                if name != m and name in modules:
                    deps[m].add(name)
    # Depth-first search, reporting each cycle once by its smallest member.
    state, seen_cycles = {}, set()

    def visit(m, stack):
        state[m] = 1
        stack.append(m)
        for d in sorted(deps[m]):
            if state.get(d) == 1:
                cyc = stack[stack.index(d):]
                key = frozenset(cyc)
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    bad.append("include cycle: " + " -> ".join(cyc + [d]))
            elif d not in state:
                visit(d, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(modules):
        if m not in state:
            visit(m, [])
    for b in bad:
        print("check-includes: " + b)
    if bad:
        return 1
    print("check-includes: %d modules, no include cycle" % len(modules))
    return 0


if __name__ == "__main__":
    sys.exit(main())
