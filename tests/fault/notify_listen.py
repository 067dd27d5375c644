#!/usr/bin/python3
"""Stands in for systemd's side of sd_notify: binds an AF_UNIX datagram socket
(the NOTIFY_SOCKET given to the daemon) and appends each message it receives
to a log, one message per line with its newlines shown as '|'.

    notify_listen.py SOCKET LOG"""
import os
import signal
import socket
import sys

path, log = sys.argv[1], sys.argv[2]
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(log, "a", buffering=1) as f:
    f.write("LISTENING\n")
    while True:
        msg = s.recv(4096).decode(errors="replace")
        f.write(msg.strip().replace("\n", "|") + "\n")
