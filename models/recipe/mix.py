"""Shared audio helpers for the recipe: loading the cached sets, trimming,
backgrounds (sox noise or babble of overlapping synthetic speech) at a given
SNR, and level changes. All randomness comes from the numpy Generator passed in."""
import os

import numpy as np

SR = 16000
# Confusables too close to the phrase to be fair negatives (the phrase with its first
# consonant changed); left out of training and test alike.
EXCLUDED_CONFUSABLES = {"pay jarvis"}


def load_set(data_dir, name):
    z = np.load(os.path.join(data_dir, name + ".npz"))
    audio = z["audio"].astype(np.float32) / 32768.0
    offs = z["offsets"]
    tags = [str(t) for t in z["tags"]]
    utts = [audio[offs[i]:offs[i + 1]] for i in range(len(offs) - 1)]
    return utts, tags


def load_filtered(data_dir, name):
    utts, tags = load_set(data_dir, name)
    keep = [i for i, t in enumerate(tags) if t.split("|")[-1].strip(" ,.!?") not in EXCLUDED_CONFUSABLES]
    return [utts[i] for i in keep], [tags[i] for i in keep]


def trim(x, rel_db=-35.0, frame=160):
    """Cuts leading and trailing frames quieter than rel_db below the loudest frame."""
    n = len(x) // frame
    if n == 0:
        return x
    e = (x[: n * frame].reshape(n, frame) ** 2).mean(1) + 1e-12
    db = 10 * np.log10(e)
    on = np.nonzero(db > db.max() + rel_db)[0]
    if len(on) == 0:
        return x
    return x[on[0] * frame:(on[-1] + 1) * frame]


def rms(x):
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2) + 1e-12))


def crop(rng, x, n):
    if len(x) >= n:
        s = rng.integers(0, len(x) - n + 1)
        return x[s:s + n].copy()
    out = np.zeros(n, np.float32)
    s = rng.integers(0, n - len(x) + 1)
    out[s:s + len(x)] = x
    return out


class Backgrounds:
    """Noise (white/pink/brown from sox) and babble (3-5 overlapping synthetic voices)."""

    def __init__(self, noises, speech):
        self.noises = noises
        self.speech = speech

    def noise(self, rng, n):
        x = crop(rng, self.noises[rng.integers(len(self.noises))], n)
        return x / rms(x)

    def babble(self, rng, n):
        out = np.zeros(n, np.float32)
        for _ in range(rng.integers(3, 6)):
            u = self.speech[rng.integers(len(self.speech))]
            c = crop(rng, np.tile(u, int(np.ceil(n / max(len(u), 1))) + 1), n)
            out += c * (10 ** (rng.uniform(-10, 0) / 20)) / (rms(c) + 1e-6)
        return out / (rms(out) + 1e-9)

    def mix(self, rng, fg, fg_level, p_clean=0.25):
        """Adds a background at an SNR of 0-25 dB relative to fg_level (RMS of the
        foreground's active part); returns fg unchanged with probability p_clean."""
        r = rng.random()
        if r < p_clean:
            return fg
        bg = self.babble(rng, len(fg)) if r < p_clean + 0.3 else self.noise(rng, len(fg))
        snr = rng.uniform(0, 25)
        return fg + bg * fg_level * 10 ** (-snr / 20)


def set_level(rng, x, lo_db=-35.0, hi_db=-3.0):
    """Scales so the peak sits at a random level, as a far or near talker would."""
    pk = float(np.max(np.abs(x))) + 1e-9
    return (x * (10 ** (rng.uniform(lo_db, hi_db) / 20) / pk)).astype(np.float32)
