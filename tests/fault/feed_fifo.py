#!/usr/bin/python3
"""Feeds a WAV file's samples (as they are: any width, rate, channels) into a named pipe at a chosen multiple of
real time, in 100 ms chunks, the way a sound card delivers them: the
file-backed ALSA PCM of the daemon tests reads the pipe and blocks like a
device. After the audio it writes silence until killed (so the capture keeps
flowing), or with --loop it repeats the audio. If the reader closes the pipe
(the daemon reopening a "lost" device), it waits for the next reader and goes
on where it was, at the same pace from then on (time spent waiting for a
reader is not made up with a burst). It only ever reopens that same pipe: the
path is opened without O_CREAT (a feeder never leaves a regular file where a
test is about to make a new pipe), and once it names another file (the test
removed the pipe, or made a new one for another feeder) the feeder exits.

The file-backed PCM copies whatever one read() of the pipe returns and keeps
the rest of its period stale, so a period must never arrive in pieces: every
write is a whole number of the reader's periods and at most PIPE_BUF (4096)
bytes, which the kernel writes atomically. --period-bytes gives the reader's
period (frames * bytes per frame; default 640 = 20 ms of 16 kHz mono s16).

    feed_fifo.py FIFO WAV SPEED [--loop] [--period-bytes N]"""
import os
import signal
import stat
import sys
import time
import wave

fifo, wav, speed = sys.argv[1], sys.argv[2], float(sys.argv[3])
loop = "--loop" in sys.argv[4:]
period = 640
if "--period-bytes" in sys.argv:
    period = int(sys.argv[sys.argv.index("--period-bytes") + 1])
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
with wave.open(wav) as w:
    rate, frame_bytes = w.getframerate(), w.getsampwidth() * w.getnchannels()
    audio = w.readframes(w.getnframes())
chunk = max(1, 4096 // period) * period
if period % frame_bytes:
    sys.exit("feed_fifo.py: period of %d bytes is not whole frames of %d" % (period, frame_bytes))
silence = bytes(chunk)


def chunks():
    while True:
        for i in range(0, len(audio), chunk):
            c = audio[i:i + chunk]
            yield c + bytes((-len(c)) % period)  # the last period padded with silence
        if not loop:
            break
    while True:
        yield silence


def open_pipe(first):
    """The pipe opened for writing (blocks until a reader opens it), or None
    when the path no longer names the pipe first opened (first: its stat)."""
    try:
        if first and not os.path.samestat(os.stat(fifo), first):
            return None
        fd = os.open(fifo, os.O_WRONLY)  # no O_CREAT, no O_TRUNC: pipes only
    except FileNotFoundError:
        if first:
            return None
        raise
    st = os.fstat(fd)
    if not stat.S_ISFIFO(st.st_mode) or (first and not os.path.samestat(st, first)):
        os.close(fd)
        if first:
            return None
        sys.exit("feed_fifo.py: %s is not a named pipe" % fifo)
    return os.fdopen(fd, "wb", buffering=0)


out = None
first = None  # the pipe's stat, from the first open
t0 = time.monotonic()
sent = 0.0
for c in chunks():
    while True:
        try:
            if out is None:
                out = open_pipe(first)
                if out is None:
                    sys.exit(0)  # the pipe is gone: its test moved on
                first = first or os.fstat(out.fileno())
                # paced from when the reader is there: no burst to catch up
                # on the time spent waiting for it (a reopened sound card
                # does not deliver one either)
                t0 = time.monotonic() - sent / speed
            out.write(c)
            break
        except BrokenPipeError:
            try:
                out.close()
            except OSError:
                pass
            out = None
    sent += len(c) / frame_bytes / rate
    ahead = t0 + sent / speed - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
