#!/usr/bin/env python3
"""launch.py INFO PORT ARGV... -- start the index ARGV and time its start-up
to the millisecond (a curl loop in the shell costs ~40 ms a try).

It forks, execs ARGV in the child and polls PORT until an HTTP request gets
an answer (UP); then, since the index may go on loading its key sets for
listing in the background, until GET /?list&limit=1 stops answering 503
(READY). It writes "PID UP READY" (seconds from the exec; "-" for a time
never reached) to INFO, then stays the index's parent: it passes SIGINT and
SIGTERM on and exits with its status. Used by scripts/bench.sh.
"""
import os, signal, socket, sys, time
info, port, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
for s in (signal.SIGINT, signal.SIGTERM):
    signal.signal(s, lambda n, f: os.kill(pid, n))

def status(path):
    """The status of GET path, 0 for no answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as c:
            c.sendall(b"GET " + path + b" HTTP/1.0\r\n\r\n")
            line = c.recv(64).split(b" ")
            return int(line[1]) if len(line) > 1 and line[1].isdigit() else 0
    except OSError:
        return 0

def wait_for(ok, limit, pause):
    while time.monotonic() - t0 < limit:
        if ok():
            return time.monotonic() - t0
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return None
        time.sleep(pause)
    return None

up = wait_for(lambda: status(b"/") != 0, 10, 0.001)
ready = up and wait_for(lambda: status(b"/?list&limit=1") != 503, 60, 0.01)
fmt = lambda t: "-" if t is None else "%.4f" % t
with open(info + ".tmp", "w") as f:
    f.write("%d %s %s\n" % (pid, fmt(up), fmt(ready)))
os.rename(info + ".tmp", info)
try:
    st = os.waitpid(pid, 0)[1]
except ChildProcessError:   # reaped by wait_for: it died early
    st = 1 << 8
sys.exit(os.waitstatus_to_exitcode(st) & 255)
