#!/usr/bin/python3
"""Feeds a WAV file's samples (as they are: any width, rate, channels) into a named pipe at a chosen multiple of
real time, in 100 ms chunks, the way a sound card delivers them: the
file-backed ALSA PCM of the daemon tests reads the pipe and blocks like a
device. After the audio it writes silence until killed (so the capture keeps
flowing), or with --loop it repeats the audio. If the reader closes the pipe
(the daemon reopening a "lost" device), it waits for the next reader and goes
on where it was.

    feed_fifo.py FIFO WAV SPEED [--loop]"""
import signal
import sys
import time
import wave

fifo, wav, speed = sys.argv[1], sys.argv[2], float(sys.argv[3])
loop = "--loop" in sys.argv[4:]
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
with wave.open(wav) as w:
    rate, frame_bytes = w.getframerate(), w.getsampwidth() * w.getnchannels()
    audio = w.readframes(w.getnframes())
chunk = rate // 10 * frame_bytes
silence = bytes(chunk)


def chunks():
    while True:
        for i in range(0, len(audio), chunk):
            yield audio[i:i + chunk]
        if not loop:
            break
    while True:
        yield silence


out = None
t0 = time.monotonic()
sent = 0.0
for c in chunks():
    while True:
        try:
            if out is None:
                out = open(fifo, "wb", buffering=0)
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
