#!/usr/bin/python3
"""500 one-second 16 kHz clips (speech from espeak-ng over sox noise, or noise
alone) for timing `wakewordd quantize` (the issue's target: under 60 s).
Not committed: written to /work/cache/quant/clips500 (or argv[1]).
Usage: /usr/bin/python3 tests/gen/make_quant_bench_clips.py [DIR] [COUNT]"""
import os
import subprocess
import sys
import wave

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else "/work/cache/quant/clips500"
COUNT = int(sys.argv[2]) if len(sys.argv) > 2 else 500
SR = 16000
WORDS = ["hey jarvis", "lights on", "stop", "play music", "what time", "hello", "weather",
         "timer", "next song", "volume down", "good night", "open"]
VOICES = ["en-us", "en-gb", "en-gb-scotland", "en+f3", "en+m3", "en-gb-x-rp"]
rng = np.random.default_rng(7)


def raw(args):
    return np.frombuffer(subprocess.run(args, check=True, capture_output=True).stdout,
                         dtype="<i2").astype(np.float32) / 32768


os.makedirs(OUT, exist_ok=True)
tts = {}
for w in WORDS:
    for v in VOICES:
        tts[(w, v)] = raw(["sh", "-c", f"espeak-ng -v {v} --stdout '{w}' | sox -R -t wav - -r {SR} -c 1 "
                           "-b 16 -e signed-integer -t raw -"])
noise = {k: raw(["sox", "-R", "-n", "-r", str(SR), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw",
                 "-", "synth", "30", k]) for k in ["whitenoise", "pinknoise", "brownnoise"]}
keys = list(tts)
for i in range(COUNT):
    n = noise[list(noise)[i % 3]]
    at = int(rng.integers(0, len(n) - SR))
    x = n[at:at + SR] * rng.uniform(0.003, 0.05)
    if i % 3:
        u = tts[keys[rng.integers(len(keys))]][:SR] * rng.uniform(0.2, 0.9)
        o = int(rng.integers(0, SR - len(u) + 1))
        x[o:o + len(u)] += u
    with wave.open(os.path.join(OUT, f"clip{i:03d}.wav"), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SR)
        f.writeframes(np.clip(np.round(x * 32767), -32768, 32767).astype("<i2").tobytes())
print("wrote", COUNT, "clips to", OUT)
