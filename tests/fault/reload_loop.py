#!/usr/bin/python3
"""Reloads a daemon N times and watches its resources: stands in for systemd's
side of sd_notify (binds the NOTIFY_SOCKET), starts the daemon, waits for
READY=1, then N times: puts the next of the given config files in place
(rename over CONFIG), sends SIGHUP and waits for the RELOADING=1 ... READY=1
that follows. After every reload it samples /proc/PID/status (VmHWM = peak
RSS, VmRSS) and the open fds (/proc/PID/fd) and prints one line per sample
point:
    reload K hwm_kb H rss_kb R fds F seconds S
The fd count right after READY=1 may miss a capture device the capture thread
is still opening, so before the first and after the last reload it also waits
until the count has been steady for 0.5 s and prints
    settled first|last fds F hwm_kb H rss_kb R
Then SIGTERM, and a last line "exit STATUS". The verdict is the caller's.

    reload_loop.py N CONFIG CONF_A[,CONF_B,...] [--every K] -- DAEMON_CMD...

--every K prints every K-th reload (the first 10, and the last, always)."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

args = sys.argv[1:]
cmd = args[args.index("--") + 1:]
args = args[:args.index("--")]
n, config, confs = int(args[0]), args[1], args[2].split(",")
every = int(args[args.index("--every") + 1]) if "--every" in args else 1

tmp = tempfile.mkdtemp(prefix="ww-reload-")
path = os.path.join(tmp, "notify.sock")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(1.0)
proc = subprocess.Popen(cmd, env=dict(os.environ, NOTIFY_SOCKET=path))


def fail(msg):
    print("error: " + msg, flush=True)
    proc.kill()
    proc.wait()
    shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1)


def wait_ready(limit=60.0):
    """Waits for a message with READY=1; returns the messages seen."""
    seen = []
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            fail("daemon exited with status %d" % proc.returncode)
        try:
            msg = sock.recv(4096).decode(errors="replace")
        except socket.timeout:
            continue
        seen.append(msg)
        if "READY=1" in msg.split("\n"):
            return seen
    fail("no READY=1 within %.0f s" % limit)


def sample():
    st = {}
    with open("/proc/%d/status" % proc.pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.split()[0] if v.split() else ""
    return int(st["VmHWM"]), int(st["VmRSS"]), len(os.listdir("/proc/%d/fd" % proc.pid))


def settled(which):
    last, since = None, time.monotonic()
    end = since + 10
    while time.monotonic() < end:
        h, r, fd = sample()
        if fd != last:
            last, since = fd, time.monotonic()
        elif time.monotonic() - since >= 0.5:
            break
        time.sleep(0.05)
    print("settled %s fds %d hwm_kb %d rss_kb %d" % (which, last, h, r), flush=True)


wait_ready()
settled("first")
t0 = time.monotonic()
h, r, fd = sample()
print("reload 0 hwm_kb %d rss_kb %d fds %d seconds 0.000" % (h, r, fd), flush=True)
for k in range(1, n + 1):
    src = confs[(k - 1) % len(confs)]
    shutil.copyfile(src, config + ".new")
    os.rename(config + ".new", config)
    os.kill(proc.pid, signal.SIGHUP)
    msgs = wait_ready()
    if not any("RELOADING=1" in m for m in msgs):
        fail("reload %d: READY=1 without RELOADING=1: %r" % (k, msgs))
    h, r, fd = sample()
    if k <= 10 or k % every == 0 or k == n:
        print("reload %d hwm_kb %d rss_kb %d fds %d seconds %.3f" % (k, h, r, fd, time.monotonic() - t0),
              flush=True)
settled("last")
proc.send_signal(signal.SIGTERM)
try:
    rc = proc.wait(timeout=30)
except subprocess.TimeoutExpired:
    fail("still running 30 s after SIGTERM")
print("exit %d" % rc, flush=True)
shutil.rmtree(tmp, ignore_errors=True)
