#!/usr/bin/python3
"""Makes the front end's golden fixtures: short 16 kHz recordings (speech from
espeak-ng, white and pink noise, silence, a tone sweep) and, for each, the
log-mel features torchaudio computes for them, in float64 so the reference
carries no float32 rounding of its own.

    /usr/bin/python3 tests/gen/make_mel_golden.py [OUTDIR]

Needs Debian's python3-torchaudio, espeak-ng and sox. The outputs are committed
(tests/fixtures/mel/) so `make check` needs none of these."""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torchaudio

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures", "mel")
SR = 16000
rng = np.random.default_rng(20261124)

# name -> (settings); "default" must equal ww_mel_config_default()
CONFIGS = {
    "default": dict(sample_rate=16000, n_fft=512, win_length=400, hop_length=160, n_mels=64,
                    f_min=0.0, f_max=8000.0, mel_scale="htk", norm=None, log_floor=1e-6),
    "slaney": dict(sample_rate=16000, n_fft=400, win_length=320, hop_length=128, n_mels=40,
                   f_min=60.0, f_max=7600.0, mel_scale="slaney", norm="slaney", log_floor=1e-3),
}


def write_wav(path, x):
    pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
    torchaudio.save(path, torch.from_numpy(pcm).unsqueeze(0), SR, encoding="PCM_S", bits_per_sample=16)


def speech(text, voice):
    with tempfile.TemporaryDirectory() as d:
        raw = os.path.join(d, "a.wav")
        out = os.path.join(d, "b.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-w", raw, text], check=True)
        subprocess.run(["sox", "-R", raw, "-r", str(SR), "-c", "1", "-b", "16", out], check=True)
        w, sr = torchaudio.load(out)
        assert sr == SR
        return w[0].numpy().astype(np.float64)


def pink(n):
    white = rng.standard_normal(n)
    spec = np.fft.rfft(white)
    f = np.arange(len(spec))
    f[0] = 1
    return np.fft.irfft(spec / np.sqrt(f), n)


def signals():
    s = speech("hey jarvis, what is the weather like today", "en-us")
    yield "speech", 0.9 * s / np.max(np.abs(s))
    yield "speech_quiet", 0.01 * s / np.max(np.abs(s))
    yield "white_noise", 0.3 * rng.standard_normal(SR * 1 + 3000).clip(-3, 3) / 3
    p = pink(SR + 5000)
    yield "pink_noise", 0.5 * p / np.max(np.abs(p))
    yield "silence", np.zeros(SR)
    t = np.arange(SR) / SR
    yield "sweep", 0.5 * np.sin(2 * np.pi * (50 * t + 3950 * t * t))


def logmel(x, c):
    mel = torchaudio.transforms.MelSpectrogram(
        sample_rate=c["sample_rate"], n_fft=c["n_fft"], win_length=c["win_length"],
        hop_length=c["hop_length"], f_min=c["f_min"], f_max=c["f_max"], n_mels=c["n_mels"],
        window_fn=torch.hann_window, power=2.0, center=False, normalized=False,
        norm=c["norm"], mel_scale=c["mel_scale"]).double()
    m = mel(torch.from_numpy(x).double().unsqueeze(0))[0]  # [n_mels, frames]
    return torch.log(m + c["log_floor"]).T.contiguous().numpy().astype(np.float32)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, x in signals():
        wav = os.path.join(OUT, name + ".wav")
        write_wav(wav, x)
        # the reference sees exactly the 16-bit samples the C code reads
        w, _ = torchaudio.load(wav)
        x16 = w[0].numpy().astype(np.float64)
        for cname, c in CONFIGS.items():
            np.save(os.path.join(OUT, f"{name}.{cname}.npy"), logmel(x16, c))
    for cname, c in CONFIGS.items():
        fb = torchaudio.functional.melscale_fbanks(c["n_fft"] // 2 + 1, c["f_min"], c["f_max"],
                                                   c["n_mels"], c["sample_rate"], c["norm"],
                                                   c["mel_scale"])
        np.save(os.path.join(OUT, f"fbank.{cname}.npy"), fb.numpy().astype(np.float32))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
