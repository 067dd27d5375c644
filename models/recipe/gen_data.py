#!/usr/bin/python3
"""Stage 1: synthetic audio for one wake phrase, from espeak-ng and flite only.

Writes DATA/<set>.npz (concatenated int16 audio + offsets + per-utterance tags)
for: pos_{train,dev,test} (the phrase), conf_{train,dev,test} (confusable
phrases), speech_{train,dev,test} (other English speech), noise_{train,dev,test}
(sox white, pink, brown noise). Voices are split: one espeak-ng voice, a fifth of
the espeak-ng variants and one flite voice are held out of training. The held-out
voices are drawn twice: the development split (dev: what runs, mixes and the
threshold are chosen on) and, with generators of their own and other text, the
test split (scored once the choice is made); --test-draws N (2 up to the last draw
of DRAW_TEXT_PACKAGES) draws them again
(*_test2 .. *_testN), for judging a choice made after the earlier draws had been
looked at.
Each rendering goes through sox: resample to 16 kHz, tempo 0.85-1.2, optional
pitch shift and reverb. Everything is drawn from seeded generators, one per group
of sets, so adding a group leaves the others as they were. Later groups add
training-only renderings: *_extra_train (wider augmentation, more confusables),
*_flite_train (the training flite voices with their rate and pitch varied) and
*_prosody_train (the training flite voices saying the phrase's words one at a time,
joined with their own rate, pitch, intonation and pause); with --random-voices N,
*_voices_train (the training espeak-ng voices with N variants drawn at random)."""
import argparse
import concurrent.futures as cf
import glob
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import wave

import numpy as np

SR = 16000
ESPEAK_VOICES = ["en-gb", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd",
                 "en-029", "en-us-nyc"]
TEST_ESPEAK_VOICE = "en-gb-x-gbcwmd"
FLITE_VOICES = ["kal16", "awb", "rms", "slt"]
TEST_FLITE_VOICE = "rms"
NOISE_COLORS = ("whitenoise", "pinknoise", "brownnoise")
# Extra training renderings (sets *_extra_train) also use flite's 8 kHz diphone voice.
EXTRA_FLITE_VOICES = ["kal16", "awb", "slt", "kal"]
# flite's statistical (clustergen) voices ignore int_f0_target_mean; their pitch moves with f0_shift.
FLITE_CG_VOICES = {"awb", "rms", "slt"}

CONFUSABLES = ["hey travis", "hey jarvey", "jarvin", "harvest", "hey service", "a jar of", "hey marvin",
               "hey harvey", "hey davis", "hey java", "hey jar", "hey jars", "hey charles", "hey there",
               "hey siri", "okay google", "hey alexa", "carvings", "jar vista", "hey darwin", "hey jasmine",
               "hey garbage", "harvard", "hey service desk", "hey mavis", "hey parvis", "hey jarred",
               "they are visiting", "pay jarvis"]
# More confusables, for the extra training renderings only (the test split keeps the list above).
EXTRA_CONFUSABLES = ["hey jarvin", "hey nervous", "hey carvers", "heavy jars", "hey harvest", "a service",
                     "hey mister", "hey travis scott", "jars of jam", "hey purvis", "hey tarvis", "hey jarvie",
                     "hey starbucks", "hey arthur", "ajar visit", "hey jack", "hey charlie", "hey marvis",
                     "hey elvis", "hey jealous"]
# "pay jarvis" and "they are visiting" share most of the phrase's sounds; they are the
# hardest negatives and keep the model from keying on "jarvis" alone.


def espeak_data_dir():
    for cand in glob.glob("/usr/lib/*/espeak-ng-data") + ["/usr/share/espeak-ng-data"]:
        if os.path.isdir(os.path.join(cand, "voices", "!v")):
            return cand
    sys.exit("gen_data.py: espeak-ng's data directory (with voices/!v) not found")


def espeak_variants():
    d = os.path.join(espeak_data_dir(), "voices", "!v")
    return sorted(n for n in os.listdir(d) if re.fullmatch(r"[A-Za-z0-9_]+", n))


def random_variant_text(rng, name):
    """An espeak-ng voice variant drawn at random, as the text of its file: a gender
    and a vocal-tract length (every formant's frequency scaled by one factor, 0.84-1.0
    for a male voice, 1.0-1.2 for a female one, then each by +-6 %), each formant's
    height and width, a pitch base and range, and sometimes breath, flutter, roughness,
    another voicing or consonant level, or the klatt synthesiser. espeak-ng's own 70-odd
    variants are hand-made points of the same space."""
    male = rng.random() < 0.5
    vtl = rng.uniform(0.84, 1.0) if male else rng.uniform(1.0, 1.2)
    base = rng.randint(60, 120) if male else rng.randint(125, 220)
    lines = ["language variant", "name " + name, "gender " + ("male" if male else "female"),
             "pitch %d %d" % (base, base + rng.randint(25, 120))]
    for k in range(9):
        lines.append("formant %d %d %d %d" % (k, round(100 * vtl * rng.uniform(0.94, 1.06)),
                                              rng.randint(70, 130), rng.randint(80, 160)))
    if rng.random() < 0.3:
        lines.append("breath " + " ".join(str(rng.randint(0, 4)) for _ in range(8)))
    if rng.random() < 0.3:
        lines.append("flutter %d" % rng.randint(0, 30))
    if rng.random() < 0.3:
        lines.append("roughness %d" % rng.randint(0, 5))
    if rng.random() < 0.3:
        lines.append("voicing %d" % rng.randint(60, 130))
    if rng.random() < 0.3:
        lines.append("consonants %d" % rng.randint(70, 130))
    if rng.random() < 0.2:
        lines.append("klatt %d" % rng.randint(1, 4))
    return "\n".join(lines) + "\n"


def write_random_variants(rng, n, root):
    """espeak-ng data for --path=root: the English voices and phoneme data copied from
    the system's, and n variants drawn by random_variant_text (rv000, rv001, ...) in
    place of its own; returns their names. Only English: espeak-ng lists at most 349
    voices and variants, and past that it ignores a variant without a word (every
    variant then spoke as one voice). Checked: two variants must render differently."""
    src, data = espeak_data_dir(), os.path.join(root, "espeak-ng-data")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(data, "voices", "!v"))
    os.makedirs(os.path.join(data, "lang", "gmw"))
    for f in ("phontab", "phonindex", "phondata", "intonations", "en_dict"):
        shutil.copy(os.path.join(src, f), data)
    for f in glob.glob(os.path.join(src, "lang", "gmw", "en*")):
        shutil.copy(f, os.path.join(data, "lang", "gmw"))
    names = ["rv%03d" % i for i in range(n)]
    for name in names:
        with open(os.path.join(data, "voices", "!v", name), "w") as f:
            f.write(random_variant_text(rng, name))
    if n >= 2 and len({engine_audio("espeak", "en-us+" + v, "hey", ["--path=" + root]) for v in names[:2]}) < 2:
        sys.exit("gen_data.py: espeak-ng ignores the variants in %s (both spoke alike)" % data)
    return names


# espeak-ng's -v for a voice where the name does not take a variant: "en-gb+m3" speaks
# as plain en-gb (its file, gmw/en, takes one). The sets before session 24 were made
# with the name, so their en-gb renderings are one timbre whatever the variant.
ESPEAK_VARIANT_VOICE = {"en-gb": "gmw/en"}


def read_wav_bytes(b):
    with wave.open(io.BytesIO(b)) as w:
        assert w.getframerate() == SR and w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


def sox_effects(rng):
    """tempo 0.85-1.2; pitch shift (half the time); reverb (a third of the time); gain."""
    fx = ["tempo", "%.3f" % rng.uniform(0.85, 1.2)]
    if rng.random() < 0.5:
        fx += ["pitch", "%d" % rng.randint(-300, 300)]
    if rng.random() < 0.33:
        fx += ["reverb", "%d" % rng.randint(10, 60), "50", "%d" % rng.randint(20, 100)]
    fx += ["norm", "%.1f" % rng.uniform(-20, -1)]
    return fx


def render(job):
    """job = (engine, voice, text, engine_args, sox_fx) -> int16 array at 16 kHz."""
    engine, voice, text, eargs, fx = job
    # to_16k runs sox with -R: sox dithers whenever it writes 16 bits, from a fresh
    # random seed unless told not to; without it two runs of the recipe rendered
    # different audio (session 9: the same model scored 3 false accepts at 0.996 on one
    # rendering of the test split, 4 on another)
    return to_16k(engine_audio(engine, voice, text, eargs), fx)


def engine_audio(engine, voice, text, eargs):
    """One engine call -> the WAV bytes it writes (any rate)."""
    if engine == "espeak":
        cmd = ["espeak-ng", "-v", voice, *eargs, "--stdout", text]
    else:
        cmd = ["flite", "-voice", voice, *eargs, "-t", text, "-o", "/dev/stdout"]
    return subprocess.run(cmd, capture_output=True, check=True).stdout


def to_16k(src, fx=()):
    """WAV bytes -> int16 at 16 kHz through sox, with effects fx."""
    p = subprocess.run(["sox", "-q", "-R", "-t", "wav", "-", "-t", "wav", "-r", str(SR), "-c", "1", "-b", "16",
                        "-e", "signed", "-", *fx], input=src, capture_output=True, check=True)
    return read_wav_bytes(p.stdout)


def wav_bytes(x):
    b = io.BytesIO()
    with wave.open(b, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(x.astype(np.int16).tobytes())
    return b.getvalue()


def loud_frames(x, rel_db, frame):
    """Per frame of x (the tail short of a frame dropped): louder than rel_db below the loudest."""
    n = len(x) // frame
    e = (x[: n * frame].astype(np.float64).reshape(n, frame) ** 2).mean(1) + 1e-9
    db = 10 * np.log10(e)
    return db > db.max() + rel_db


def trim_silence(x, rel_db=-40.0, frame=80):
    """Cuts leading and trailing 5 ms frames quieter than rel_db below the loudest."""
    if len(x) < frame:
        return x
    on = np.nonzero(loud_frames(x, rel_db, frame))[0]
    return x[on[0] * frame:(on[-1] + 1) * frame] if len(on) else x


def split_at_pause(x, frame=80, rel_db=-35.0):
    """(first part, pause, second part) of x at its longest quiet run of 5 ms frames
    between the first and last loud ones, or None when it has none."""
    on = loud_frames(x, rel_db, frame)
    idx = np.flatnonzero(on)
    best, run, best_end = 0, 0, 0
    for k in range(idx[0], idx[-1] + 1):
        run = 0 if on[k] else run + 1
        if run > best:
            best, best_end = run, k + 1
    if not best:
        return None
    g0, g1 = (best_end - best) * frame, best_end * frame
    return x[:g0], x[g0:g1], x[g1:]


def tempo(x, factor):
    """x (int16 scale) played factor times faster, its pitch kept (sox tempo -s)."""
    return to_16k(wav_bytes(x), ["tempo", "-s", "%.3f" % factor]).astype(np.float32)


def render_words(job):
    """job = (voice, [(word, flite_args), ...], [pause_s, ...], sox_fx) -> int16 at 16 kHz:
    each word rendered alone by flite (so each gets its own rate, pitch and sentence
    intonation), trimmed, joined with the pauses (a negative pause overlaps the words
    with a linear crossfade), then the sox effects over the whole."""
    voice, words, pauses, fx = job
    out = trim_silence(to_16k(engine_audio("flite", voice, words[0][0], words[0][1])))
    for (word, eargs), pause in zip(words[1:], pauses):
        w = trim_silence(to_16k(engine_audio("flite", voice, word, eargs)))
        k = int(round(pause * SR))
        if k >= 0:
            out = np.concatenate([out, np.zeros(k, np.int16), w])
        else:
            k = min(-k, len(out), len(w))
            ramp = np.linspace(0.0, 1.0, k)
            mid = out[len(out) - k:] * (1 - ramp) + w[:k] * ramp
            out = np.concatenate([out[:len(out) - k], mid.astype(np.int16), w[k:]])
    return to_16k(wav_bytes(out), fx)


def word_prosody_job(rng, voice, phrase):
    """The words of a two-part phrase ("hey" + "jarvis") for render_words: each word a
    rate of its own (duration_stretch 0.7-1.8: the held-out flite voice's slow
    "hey, jarvis" was its most-missed rendering), a pitch of its own, and its own
    ending punctuation (flite's intonation for a statement, a call, a question); a
    pause of -60..+350 ms between them."""
    first, rest = phrase.split(" ", 1)
    words = []
    for w, ends in ((first, ("", ",", "!", "?", ".")), (rest, ("", "!", "?", "."))):
        eargs = ["--setf", "duration_stretch=%.2f" % rng.uniform(0.7, 1.8)]
        if voice in FLITE_CG_VOICES:
            eargs += ["--setf", "f0_shift=%.2f" % rng.uniform(0.7, 1.4)]
        else:
            eargs += ["--setf", "int_f0_target_mean=%d" % rng.randint(70, 240),
                      "--setf", "int_f0_target_stddev=%d" % rng.randint(5, 50)]
        words.append((w + rng.choice(ends), eargs))
    pause = rng.uniform(-0.06, 0.0) if rng.random() < 0.15 else rng.uniform(0.0, 0.35)
    return (voice, words, [pause], sox_effects_wide(rng), f"flite-{voice}-words|{phrase}")


def sox_effects_wide(rng):
    """Wider augmentation for the extra training renderings: tempo 0.8-1.25; half the
    time `speed` 0.88-1.12 with the tempo compensated (scales pitch and formants
    together, a vocal-tract-length change); pitch shift up to +-4 semitones half the
    time; a random bass/treble tilt; a telephone-like band limit one time in ten;
    reverb 40 % of the time; a random level."""
    fx = ["rate", str(SR)]  # first, so the filters below see 16 kHz (flite's kal is 8 kHz)
    tempo = rng.uniform(0.8, 1.25)
    if rng.random() < 0.5:
        sp = rng.uniform(0.88, 1.12)
        fx += ["speed", "%.3f" % sp]
        tempo /= sp
    fx += ["tempo", "%.3f" % tempo]
    if rng.random() < 0.5:
        fx += ["pitch", "%d" % rng.randint(-400, 400)]
    if rng.random() < 0.5:
        fx += ["bass", "%.1f" % rng.uniform(-6, 6), "treble", "%.1f" % rng.uniform(-6, 6)]
    if rng.random() < 0.1:
        fx += ["sinc", "%d-%d" % (rng.randint(150, 400), rng.randint(3000, 4500))]
    if rng.random() < 0.4:
        fx += ["reverb", "%d" % rng.randint(10, 70), "50", "%d" % rng.randint(20, 100)]
    fx += ["norm", "%.1f" % rng.uniform(-20, -1)]
    return fx


def espeak_args_wide(rng):
    """rate 90-260 wpm, pitch 0-99, a word gap of 0-120 ms."""
    return ["-s", str(rng.randint(90, 260)), "-p", str(rng.randint(0, 99)), "-g", str(rng.randint(0, 12)),
            "-a", "150"]


def flite_args_wide(rng):
    return ["--setf", "duration_stretch=%.2f" % rng.uniform(0.7, 1.5),
            "--setf", "int_f0_target_mean=%d" % rng.randint(70, 260),
            "--setf", "int_f0_target_stddev=%d" % rng.randint(5, 50)]


def flite_args_voice(rng, voice):
    """For the flite-only sets (*_flite_train): speaking rate 0.7-1.6x and a pitch
    change the voice honours (f0_shift 0.65-1.5 on the clustergen voices, a target
    mean and spread on the diphone ones); with three training voices, flite's own
    prosody is where the held-out voice differs most."""
    fx = ["--setf", "duration_stretch=%.2f" % rng.uniform(0.7, 1.6)]
    if voice in FLITE_CG_VOICES:
        return fx + ["--setf", "f0_shift=%.2f" % rng.uniform(0.65, 1.5)]
    return fx + ["--setf", "int_f0_target_mean=%d" % rng.randint(70, 260),
                 "--setf", "int_f0_target_stddev=%d" % rng.randint(5, 50)]


def espeak_args(rng):
    return ["-s", str(rng.randint(120, 210)), "-p", str(rng.randint(20, 80)), "-a", "150"]


def flite_args(rng):
    return ["--setf", "duration_stretch=%.2f" % rng.uniform(0.8, 1.3),
            "--setf", "int_f0_target_mean=%d" % rng.randint(80, 200)]


def phrase_texts(keyword):
    return [keyword, keyword.replace(" ", ", ", 1), keyword + "!", keyword + "?", keyword + "."]


def split_of(voice, variant, test_variants):
    if voice in (TEST_ESPEAK_VOICE, TEST_FLITE_VOICE) or variant in test_variants:
        return "heldout"
    return "train"


def text_sentences(texts, rng, min_words=3, max_words=16):
    words = []
    for t in texts:
        words += re.findall(r"[A-Za-z][A-Za-z']*[.,;:?!]?", t)
    chunks = []
    i = 0
    while i < len(words):
        n = rng.randint(min_words, max_words)
        chunks.append(" ".join(words[i:i + n]))
        i += n
    return chunks


# Where the text of the other speech comes from: named Debian packages (installed by
# scripts/install-deps.sh --fixtures), never whatever else the machine holds, so that
# every machine renders the same sentences. Training: the license texts every Debian
# system has (base-files) and the pages of `manpages`; test: the pages of
# `manpages-dev`, a text the training never reads.
TRAIN_TEXT_PACKAGE = "manpages"
TEST_TEXT_PACKAGE = "manpages-dev"
# the later test draws' speech text, by draw (dev and the first test split read all of
# manpages-dev); draw 4 reads two packages, since iproute2's pages alone (114 000 words)
# are a little short of --test-speech-s; draw 5 four (about 170 000 words, bash's page
# 69 000 of them); draw 6 seven packages every Debian system has (about 155 000 words);
# draw 7 ten common tools' pages (57 pages, about 167 000 words); draw 8 the pages of
# five packages the build and fixtures install (about 181 000 words, sox's 96 000); draw 9
# openssl's and valgrind's (about 235 000); draw 10 six packages' (about 199 000 words,
# binutils' 81 000); draw 14 four (about 158 000 words, linux-perf's 62 000)
DRAW_TEXT_PACKAGES = {2: ("git-man",), 3: ("systemd",), 4: ("iproute2", "util-linux"),
                      5: ("bash", "coreutils", "openssh-client", "procps"),
                      6: ("e2fsprogs", "passwd", "apt", "dpkg", "gzip", "man-db", "login"),
                      7: ("ncurses-bin", "grep", "findutils", "tar", "less", "mount", "wget", "curl", "kmod", "adduser"),
                      8: ("sox", "perl", "xz-utils", "alsa-utils", "bzip2"), 9: ("openssl", "valgrind"),
                      10: ("binutils-common", "dpkg-dev", "groff-base", "lsof", "unzip", "zip"),
                      11: ("libpam-modules", "gettext", "debianutils", "bsdextrautils", "psmisc", "hostname",
                           "cmake-data", "universal-ctags"),
                      12: ("libsystemd-dev",), 13: ("libxt-dev",),
                      14: ("linux-perf", "llvm-14", "tmux", "gpg")}


# character set tables (iso_8859-1(7), koi8-r(7), ...): lists of character names, not prose
CHARSET_PAGE = re.compile(r"(iso_8859|iso-8859|iso8859|koi8|cp125|ascii|armscii|utf-8|utf8|charsets)", re.I)


def package_man_pages(pkgs):
    """The English man pages Debian packages install (not character set tables), sorted
    by path; pkgs: a package name or a tuple of them."""
    pages = []
    for pkg in (pkgs,) if isinstance(pkgs, str) else pkgs:
        r = subprocess.run(["dpkg-query", "-L", pkg], capture_output=True, text=True)
        own = [p for p in r.stdout.split()
               if re.fullmatch(r"/usr/share/man/man[0-9]/[^/]+\.gz", p) and os.path.isfile(p)]
        if r.returncode or not own:
            sys.exit("gen_data.py: package %s is not installed or holds no man pages "
                     "(scripts/install-deps.sh --fixtures installs it)" % pkg)
        pages += own
    return sorted(pages)


def render_man_page(path):
    """The page as plain text, without hyphenation (a word split over two lines would
    be read as two)."""
    r = subprocess.run(["man", "-P", "cat", path], capture_output=True,
                       env={**os.environ, "MANWIDTH": "80", "LC_ALL": "C.UTF-8", "MANROFFOPT": "-rHY=0"})
    return r.stdout.decode(errors="ignore")


def training_sentences(rng, part, max_pages=None):
    """Sentences of 3-16 words, shuffled: part 0 from the license texts and the first
    half of the training package's man pages (of its first max_pages, all by
    default), part 1 from the second half."""
    pages = package_man_pages(TRAIN_TEXT_PACKAGE)[:max_pages]
    half = len(pages) // 2
    if part == 0:
        lic = sorted(p for p in glob.glob("/usr/share/common-licenses/*") if os.path.isfile(p))
        texts = [open(p, errors="ignore").read() for p in lic] + [render_man_page(p) for p in pages[:half]]
    else:
        texts = [render_man_page(p) for p in pages[half:]]
    sents = text_sentences(texts, rng)
    rng.shuffle(sents)
    return sents


def package_version(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "not installed"


def forget_stale_speech(out, dev_speech_s, test_speech_s):
    """The speech sets are kept between runs like every set; a set is rendered again
    when what it was read from changed (another version of its text package, another
    amount of held-out speech, or a cache from before the text came from named
    packages)."""
    want = {"base-files": package_version("base-files"),
            TRAIN_TEXT_PACKAGE: package_version(TRAIN_TEXT_PACKAGE),
            TEST_TEXT_PACKAGE: package_version(TEST_TEXT_PACKAGE),
            **{pkg: package_version(pkg) for pkgs in DRAW_TEXT_PACKAGES.values() for pkg in pkgs},
            "dev_speech_s": dev_speech_s, "test_speech_s": test_speech_s}
    depends = {"speech_dev": (TEST_TEXT_PACKAGE, "dev_speech_s"), "speech_test": (TEST_TEXT_PACKAGE, "test_speech_s"),
               **{"speech_test%d" % n: pkgs + ("test_speech_s",) for n, pkgs in DRAW_TEXT_PACKAGES.items()}}
    train_keys = ("base-files", TRAIN_TEXT_PACKAGE)
    path = os.path.join(out, "speech_sources.json")
    try:
        have = json.load(open(path))
    except (OSError, ValueError):
        have = {}
    for name in glob.glob(os.path.join(out, "speech_*.npz")):
        keys = depends.get(os.path.basename(name)[:-4], train_keys)
        if any(have.get(k) != want[k] for k in keys):
            os.remove(name)
    with open(path, "w") as f:
        json.dump(want, f, indent=1)


def man_page_texts(rng, n_pages, skip=0, package=TEST_TEXT_PACKAGE):
    """n_pages man pages of a held-out text package (those longer than 500
    characters), in a random order, after the first `skip` pages of that order (what
    an earlier call with the same generator could have read: 3 x its n_pages)."""
    pages = package_man_pages(package)
    rng.shuffle(pages)
    texts = []
    for p in pages[skip: skip + n_pages * 3]:
        t = render_man_page(p)
        if len(t) > 500:
            texts.append(t)
        if len(texts) >= n_pages:
            break
    return texts


def save_set(path, arrays, tags):
    lens = np.array([len(a) for a in arrays], dtype=np.int64)
    offs = np.concatenate([[0], np.cumsum(lens)])
    audio = np.concatenate(arrays) if arrays else np.zeros(0, np.int16)
    np.savez(path + ".tmp.npz", audio=audio, offsets=offs, tags=np.array(tags))
    os.replace(path + ".tmp.npz", path + ".npz")
    print("%s: %d utterances, %.1f s" % (os.path.basename(path), len(arrays), len(audio) / SR), flush=True)


def wide_speech_job(rng, text, p_flite, train_grid):
    """One rendering of text, widely varied: a training flite voice with probability
    p_flite, else a training espeak-ng voice+variant."""
    if rng.random() < p_flite:
        fv = rng.choice(EXTRA_FLITE_VOICES)
        return ("flite", fv, text, flite_args_wide(rng), sox_effects_wide(rng), f"flite-{fv}")
    eng, vname, v, var = rng.choice(train_grid)
    return (eng, vname, text, espeak_args_wide(rng), sox_effects_wide(rng), vname)


def heldout_speech(rng, pages, seconds, grid, name, workers, batch=64):
    """Paragraphs of 70 words of the pages read by the held-out voices (one in ten by
    the held-out flite voice), `batch` at a time, until `seconds` of speech; saved as
    set `name`."""
    paras = []
    for t in pages:
        words = re.findall(r"[A-Za-z][A-Za-z']*[.,;:?!]?", t)
        for i in range(0, len(words) - 40, 70):
            paras.append(" ".join(words[i:i + 70]))
    rng.shuffle(paras)
    out, tags, total, i = [], [], 0.0, 0
    while total < seconds and i < len(paras):
        jobs = []
        for p in paras[i:i + batch]:
            if rng.random() < 0.1:
                jobs.append(("flite", TEST_FLITE_VOICE, p, flite_args(rng), sox_effects(rng), "flite-rms"))
            else:
                eng, vname, v, var = rng.choice(grid)
                jobs.append((eng, vname, p, espeak_args(rng), sox_effects(rng), vname))
        i += batch
        res = run_jobs(jobs, workers)
        out += res
        tags += [j[5] for j in jobs]
        total += sum(len(r) for r in res) / SR
        print("%s: %.0f s" % (name, total), flush=True)
    if total < seconds:
        print("%s: the text ran out at %.0f of %.0f s" % (name, total, seconds), flush=True)
    return out, tags


def phrase_jobs(rng, kind, texts, confusables, grid, per_voice, espeak_fn, flite_voices, per_flite, flite_fn, sox_fn):
    """Rendering jobs for the phrase (kind "pos") or a confusable phrase ("conf"):
    per_voice for each espeak-ng voice+variant of grid, then per_flite for each flite
    voice, every draw from rng in that order."""
    jobs = []
    for eng, vname, v, var in grid:
        for _ in range(per_voice):
            t = rng.choice(texts) if kind == "pos" else rng.choice(confusables)
            jobs.append((eng, vname, t, espeak_fn(rng), sox_fn(rng), f"{vname}|{t}"))
    for fv in flite_voices:
        for _ in range(per_flite):
            t = rng.choice(texts) if kind == "pos" else rng.choice(confusables)
            jobs.append(("flite", fv, t, flite_fn(rng), sox_fn(rng), f"flite-{fv}|{t}"))
    return jobs


def run_jobs(jobs, workers):
    with cf.ThreadPoolExecutor(workers) as ex:
        return list(ex.map(render, [j[:5] for j in jobs]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--keyword", default="hey jarvis")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--renders", type=int, default=2, help="renderings per train voice+variant")
    ap.add_argument("--extra-renders", type=int, default=3,
                    help="extra (wider-varied) renderings per train espeak voice+variant")
    ap.add_argument("--extra-flite", type=int, default=180, help="extra renderings per extra flite voice")
    ap.add_argument("--extra-speech", type=int, default=1500, help="extra training sentences")
    ap.add_argument("--flite-renders", type=int, default=0,
                    help="flite-only training renderings per extra flite voice (sets *_flite_train; 0: none. "
                         "300 was tried, with features.py --flite-sets 1: no better on the held-out flite voice)")
    ap.add_argument("--flite-speech", type=int, default=400, help="flite-only training sentences")
    ap.add_argument("--prosody-renders", type=int, default=150,
                    help="renderings of the phrase, and of two-part confusables, word by word per training "
                         "flite voice (sets *_prosody_train; 0: none)")
    ap.add_argument("--random-voices", type=int, default=0,
                    help="espeak-ng voice variants drawn at random for the sets *_voices_train (0: none)")
    ap.add_argument("--voice-renders", type=int, default=1200,
                    help="--random-voices: renderings of the phrase, and of confusables, by them")
    ap.add_argument("--voice-speech", type=int, default=600,
                    help="--random-voices: training sentences read by them")
    ap.add_argument("--stream-speech-s", type=float, default=20000,
                    help="seconds of training speech for the negative stream (set speech_stream_train: "
                         "features.py turns it into one long feature stream, train.py crops it afresh "
                         "every epoch; 0: none)")
    ap.add_argument("--dev-speech-s", type=float, default=20000,
                    help="seconds of development speech (with the confusables, noise and pauses between, "
                         "about 6.5 h of negatives)")
    ap.add_argument("--test-speech-s", type=float, default=40000,
                    help="seconds of test speech (about 13 h of negatives: at 0.5 false accepts per hour six "
                         "false accepts are allowed, so the operating point does not rest on one passage)")
    ap.add_argument("--test-renders", type=int, default=2,
                    help="test renderings of the phrase and of a confusable per held-out voice+variant "
                         "(40 per render for the held-out flite voice)")
    ap.add_argument("--test-draws", type=int, choices=(1,) + tuple(DRAW_TEXT_PACKAGES), default=1,
                    help="N > 1 also renders the test splits 2..N (sets *_test2 ..., evaluate.py --split test2 "
                         "...): the held-out voices drawn once more, each draw's speech read from other "
                         "packages' pages (%s), to judge a choice made after the earlier draws had been looked at"
                         % "; ".join("%d: %s" % (n, ", ".join(p)) for n, p in DRAW_TEXT_PACKAGES.items()))
    ap.add_argument("--draw", type=int, choices=tuple(DRAW_TEXT_PACKAGES),
                    help="render only test draw N (sets *_testN, as --test-draws N makes them: each draw has "
                         "generators of its own), none of the training, dev or other test sets: a finished "
                         "model scored on a new draw needs nothing else")
    ap.add_argument("--smoke", action="store_true",
                    help="a tiny data set (ten espeak-ng variants, a few renderings per flite voice, short "
                         "speech sets) that takes every stage of the recipe through in minutes: for "
                         "tests/cli/test_recipe_smoke.sh, not for training")
    a = ap.parse_args()
    if a.draw and a.test_draws != 1:
        sys.exit("gen_data.py: --draw %d renders that draw alone; --test-draws %d asks for every draw up to %d: "
                 "give one" % (a.draw, a.test_draws, a.test_draws))
    # renderings of the phrase per training / held-out flite voice, training sentences,
    # held-out flite renderings per --test-renders, paragraphs of speech rendered at a time,
    # man pages read for the held-out speech, the training package's man pages read (all)
    n_flite_train, n_flite_heldout, n_sents, n_flite_test, speech_batch = 60, 40, 2200, 40, 64
    n_pages, n_train_pages = 400, None
    if a.smoke:
        n_flite_train, n_flite_heldout, n_sents, n_flite_test, speech_batch = 3, 3, 30, 3, 4
        n_pages, n_train_pages = 8, 16
        a.renders, a.extra_renders, a.extra_flite, a.extra_speech = 1, 1, 2, 20
        a.flite_renders, a.prosody_renders, a.test_renders = 0, 2, 1
        a.stream_speech_s, a.dev_speech_s, a.test_speech_s = min(a.stream_speech_s, 60), \
            min(a.dev_speech_s, 60), min(a.test_speech_s, 60)
    os.makedirs(a.out, exist_ok=True)
    # sets already in --out are kept, so a tiny set must never meet a full one
    marker = os.path.join(a.out, "smoke_data")
    if glob.glob(os.path.join(a.out, "*.npz")) and os.path.exists(marker) != a.smoke:
        sys.exit("gen_data.py: %s holds a %s data set; with%s --smoke the two would mix (another --out)" %
                 (a.out, "--smoke" if os.path.exists(marker) else "full", "" if a.smoke else "out"))
    if a.smoke:
        open(marker, "w").write("gen_data.py --smoke: a tiny data set for testing the recipe, not for training\n")
    forget_stale_speech(a.out, a.dev_speech_s, a.test_speech_s)
    rng = random.Random(a.seed)
    kw = a.keyword.strip().lower()
    variants = espeak_variants()
    if a.smoke:
        variants = variants[:10]
    test_variants = set(rng.sample(variants, len(variants) // 5))
    texts = phrase_texts(kw)
    confusables = [c for c in CONFUSABLES if c != kw]

    def voice_grid():
        for v in ESPEAK_VOICES:
            for var in variants:
                yield ("espeak", v + "+" + var, v, var)

    heldout_grid = [g for g in voice_grid() if split_of(g[2], g[3], test_variants) == "heldout"]

    def test_draw(suffix, prng, noise_from_s, read_pages, speech_rng):
        """One draw of the test split (sets *_SUFFIX): the held-out voices say the phrase
        and the confusables (prng), the sox noise from noise_from_s for 240 s, and the
        pages read_pages() returns read by the held-out voices (speech_rng)."""
        for kind in ("pos", "conf"):
            if os.path.exists(os.path.join(a.out, f"{kind}_{suffix}.npz")):
                continue
            jobs = phrase_jobs(prng, kind, texts, confusables, heldout_grid, a.test_renders, espeak_args,
                               [TEST_FLITE_VOICE], n_flite_test * a.test_renders, flite_args, sox_effects)
            save_set(os.path.join(a.out, f"{kind}_{suffix}"), run_jobs(jobs, a.workers), [j[5] for j in jobs])
        if not os.path.exists(os.path.join(a.out, f"noise_{suffix}.npz")):
            parts = []
            for color in NOISE_COLORS:
                r = subprocess.run(["sox", "-q", "-R", "-n", "-t", "wav", "-r", str(SR), "-c", "1", "-b", "16",
                                    "-e", "signed", "-", "synth", str(noise_from_s + 240), color, "norm", "-6"],
                                   capture_output=True, check=True)
                parts.append(read_wav_bytes(r.stdout)[noise_from_s * SR:])
            save_set(os.path.join(a.out, f"noise_{suffix}"), parts, list(NOISE_COLORS))
        if not os.path.exists(os.path.join(a.out, f"speech_{suffix}.npz")):
            out, tags = heldout_speech(speech_rng, read_pages(), a.test_speech_s, heldout_grid, f"speech_{suffix}",
                                       a.workers, speech_batch)
            save_set(os.path.join(a.out, f"speech_{suffix}"), out, tags)

    # --- the test split (session 11): the held-out voices drawn again, scored only once
    # the runs, the mix and the threshold have been chosen on dev. Generators of their
    # own; the speech reads the held-out text's pages past every page dev can read, so
    # no page is read in both; the noise is seconds 240-480 of the same sox synths run
    # for 480 s (sox -R repeats its first 240 s, which train and dev hold). ----------
    def test_pages():
        srng = random.Random(a.seed + 3)  # dev's page order, past every page dev can read
        pages = man_page_texts(srng, n_pages, skip=3 * n_pages)
        if len(pages) < n_pages // 4:
            sys.exit("gen_data.py: %s has too few pages left for the test split" % TEST_TEXT_PACKAGE)
        return pages

    # --- the later test draws (sessions 15-18, --test-draws N): the first test split had
    # been looked at with a candidate before the operating-point rule was changed, the
    # second with several networks and thresholds, the third once at the shipped point.
    # Draw n: generators seed + 2n + 3 and + 2n + 4, the noise from second 240 n of the
    # same sox synths, the speech from other packages' pages (dev and the first draw read
    # all of manpages-dev). -------------------------------------------------------------
    def later_draw(n):
        package = DRAW_TEXT_PACKAGES[n]
        trng_n, srng_n = random.Random(a.seed + 2 * n + 3), random.Random(a.seed + 2 * n + 4)
        test_draw("test%d" % n, trng_n, 240 * n, lambda: man_page_texts(srng_n, n_pages, package=package),
                  srng_n)

    def write_test_variants():
        open(os.path.join(a.out, "test_variants.txt"), "w").write(
            "espeak voice: %s\nflite voice: %s\nespeak variants: %s\n" %
            (TEST_ESPEAK_VOICE, TEST_FLITE_VOICE, " ".join(sorted(test_variants))))

    if a.draw:
        later_draw(a.draw)
        write_test_variants()
        return

    # --- the phrase, and confusable phrases -------------------------------------------
    for kind in ("pos", "conf"):
        if all(os.path.exists(os.path.join(a.out, f"{kind}_{s}.npz")) for s in ("train", "dev")):
            continue
        jobs = {"train": [], "heldout": []}
        for eng, vname, v, var in voice_grid():
            s = split_of(v, var, test_variants)
            n = a.renders if s == "train" else 1
            for _ in range(n):
                t = rng.choice(texts) if kind == "pos" else rng.choice(confusables)
                jobs[s].append((eng, vname, t, espeak_args(rng), sox_effects(rng), f"{vname}|{t}"))
        for fv in FLITE_VOICES:
            s = "heldout" if fv == TEST_FLITE_VOICE else "train"
            for _ in range(n_flite_train if s == "train" else n_flite_heldout):
                t = rng.choice(texts) if kind == "pos" else rng.choice(confusables)
                jobs[s].append(("flite", fv, t, flite_args(rng), sox_effects(rng), f"flite-{fv}|{t}"))
        for s, name in (("train", "train"), ("heldout", "dev")):
            out = run_jobs(jobs[s], a.workers)
            save_set(os.path.join(a.out, f"{kind}_{name}"), out, [j[5] for j in jobs[s]])

    # --- other speech: license texts for training, man pages for dev and test -----------
    if not os.path.exists(os.path.join(a.out, "speech_train.npz")):
        sents = training_sentences(rng, 0, n_train_pages)
        jobs = []
        train_grid = [g for g in voice_grid() if split_of(g[2], g[3], test_variants) == "train"]
        for i, sent in enumerate(sents[:n_sents]):
            if i % 10 == 9:
                fv = rng.choice([f for f in FLITE_VOICES if f != TEST_FLITE_VOICE])
                jobs.append(("flite", fv, sent, flite_args(rng), sox_effects(rng), f"flite-{fv}"))
            else:
                eng, vname, v, var = rng.choice(train_grid)
                jobs.append((eng, vname, sent, espeak_args(rng), sox_effects(rng), vname))
        save_set(os.path.join(a.out, "speech_train"), run_jobs(jobs, a.workers), [j[5] for j in jobs])

    if not os.path.exists(os.path.join(a.out, "speech_dev.npz")):
        # a generator of its own: the dev speech comes out the same whether or not the
        # sets before it were already cached
        drng = random.Random(a.seed + 3)
        out, tags = heldout_speech(drng, man_page_texts(drng, n_pages), a.dev_speech_s, heldout_grid, "speech_dev",
                                   a.workers, speech_batch)
        save_set(os.path.join(a.out, "speech_dev"), out, tags)

    # --- extra training renderings, more varied (sets *_extra_train). A generator of their
    # own, so the sets above (and the test split) are drawn exactly as before. ----------
    xrng = random.Random(a.seed + 1)
    train_grid = [g for g in voice_grid() if split_of(g[2], g[3], test_variants) == "train"]
    xconf = confusables + [c for c in EXTRA_CONFUSABLES if c != kw]
    for kind in ("pos", "conf"):
        if os.path.exists(os.path.join(a.out, f"{kind}_extra_train.npz")):
            continue
        jobs = phrase_jobs(xrng, kind, texts, xconf, train_grid, a.extra_renders, espeak_args_wide,
                           EXTRA_FLITE_VOICES, a.extra_flite, flite_args_wide, sox_effects_wide)
        save_set(os.path.join(a.out, f"{kind}_extra_train"), run_jobs(jobs, a.workers), [j[5] for j in jobs])

    if not os.path.exists(os.path.join(a.out, "speech_extra_train.npz")):
        sents = training_sentences(xrng, 1, n_train_pages)
        jobs = [wide_speech_job(xrng, sent, 0.2, train_grid) for sent in sents[:a.extra_speech]]
        save_set(os.path.join(a.out, "speech_extra_train"), run_jobs(jobs, a.workers), [j[5] for j in jobs])

    # --- the negative stream (set speech_stream_train): hours of training-voice speech,
    # paragraphs of the training text, varied as widely as the extra sets. The fixed
    # speech windows cover a few hours once; false accepts on unseen voices come from
    # speech, so training draws new windows from this every epoch. A generator of its own.
    if a.stream_speech_s > 0 and not os.path.exists(os.path.join(a.out, "speech_stream_train.npz")):
        srng = random.Random(a.seed + 4)
        sents = training_sentences(srng, 0, n_train_pages) + training_sentences(srng, 1, n_train_pages)
        srng.shuffle(sents)
        paras = [" ".join(sents[i:i + 5]) for i in range(0, len(sents) - 4, 5)]
        out, tags, total, i = [], [], 0.0, 0
        while total < a.stream_speech_s and i < len(paras):
            jobs = [wide_speech_job(srng, p, 0.15, train_grid) for p in paras[i:i + speech_batch]]
            i += speech_batch
            res = run_jobs(jobs, a.workers)
            out += res
            tags += [j[5] for j in jobs]
            total += sum(len(r) for r in res) / SR
            print("speech_stream_train: %.0f s" % total, flush=True)
        save_set(os.path.join(a.out, "speech_stream_train"), out, tags)

    # --- flite-only training renderings (sets *_flite_train): the test split's flite voice
    # was missed far more often than its espeak voices, so the training flite voices get
    # more renderings with their rate and pitch varied the way each voice allows. A
    # generator of their own, like the extra sets. -----------------------------------
    frng = random.Random(a.seed + 2)
    for kind in ("pos", "conf"):
        if a.flite_renders <= 0 or os.path.exists(os.path.join(a.out, f"{kind}_flite_train.npz")):
            continue
        jobs = []
        for fv in EXTRA_FLITE_VOICES:
            for _ in range(a.flite_renders):
                t = frng.choice(texts) if kind == "pos" else frng.choice(xconf)
                jobs.append(("flite", fv, t, flite_args_voice(frng, fv), sox_effects_wide(frng), f"flite-{fv}|{t}"))
        save_set(os.path.join(a.out, f"{kind}_flite_train"), run_jobs(jobs, a.workers), [j[5] for j in jobs])

    if a.flite_renders > 0 and not os.path.exists(os.path.join(a.out, "speech_flite_train.npz")):
        sents = training_sentences(frng, 1, n_train_pages)
        jobs = []
        for sent in sents[:a.flite_speech]:
            fv = frng.choice(EXTRA_FLITE_VOICES)
            jobs.append(("flite", fv, sent, flite_args_voice(frng, fv), sox_effects_wide(frng), f"flite-{fv}"))
        save_set(os.path.join(a.out, "speech_flite_train"), run_jobs(jobs, a.workers), [j[5] for j in jobs])

    # --- the phrase's words one at a time (sets *_prosody_train, session 12): the held-out
    # flite voice's most-missed rendering was its own slow "hey, jarvis", whose phrasing
    # of the two words the training voices never produced. Each training flite voice says
    # each word alone with its own rate, pitch and intonation, joined at a drawn pause;
    # the two-part confusables ("hey" + "travis", "a" + "jar of") are made the same way,
    # so the join itself says nothing. A generator of its own. -----------------------
    prng = random.Random(a.seed + 6)
    two_part = {"pos": [kw] if " " in kw else [], "conf": [c for c in xconf if " " in c]}
    for kind in ("pos", "conf"):
        if a.prosody_renders <= 0 or not two_part["pos"] or \
                os.path.exists(os.path.join(a.out, f"{kind}_prosody_train.npz")):
            continue
        jobs = [word_prosody_job(prng, fv, prng.choice(two_part[kind]))
                for fv in EXTRA_FLITE_VOICES for _ in range(a.prosody_renders)]
        with cf.ThreadPoolExecutor(a.workers) as ex:
            out = list(ex.map(render_words, [j[:4] for j in jobs]))
        save_set(os.path.join(a.out, f"{kind}_prosody_train"), out, [j[4] for j in jobs])

    # --- renderings by random voices (sets *_voices_train, session 24): every false accept
    # on draws 7-9 was a confusable of the training list said by a held-out voice, and most
    # misses were held-out voices just under the threshold, so the network should learn
    # the words across more voices than espeak-ng's variants give. The training espeak-ng
    # voices say the phrase, the confusables and training sentences with --random-voices
    # variants drawn by random_variant_text. Generators of their own, one per set.
    rv_kinds = ("pos", "conf", "speech")
    rv_missing = [k for k in rv_kinds if not os.path.exists(os.path.join(a.out, f"{k}_voices_train.npz"))]
    if a.random_voices > 0 and rv_missing:
        root = os.path.join(a.out, "espeak_random")
        rv_names = write_random_variants(random.Random(a.seed + 101), a.random_voices, root)
        rv_voices = [v for v in ESPEAK_VOICES if v != TEST_ESPEAK_VOICE]
        for kind in rv_missing:
            vr = random.Random(a.seed + 102 + rv_kinds.index(kind))
            speech = kind == "speech"
            sents = training_sentences(vr, 1, n_train_pages) if speech else None
            if speech and len(sents) < a.voice_speech:
                sys.exit("gen_data.py: --voice-speech %d asks for more sentences than the %d the "
                         "training text gives" % (a.voice_speech, len(sents)))
            jobs = []
            for i in range(a.voice_speech if speech else a.voice_renders):
                v, var = vr.choice(rv_voices), vr.choice(rv_names)
                t = sents[i] if speech else vr.choice(texts if kind == "pos" else xconf)
                tag = "%s+%s" % (v, var)
                jobs.append(("espeak", "%s+%s" % (ESPEAK_VARIANT_VOICE.get(v, v), var), t,
                             espeak_args_wide(vr) + ["--path=" + root], sox_effects_wide(vr),
                             tag if speech else f"{tag}|{t}"))
            save_set(os.path.join(a.out, f"{kind}_voices_train"), run_jobs(jobs, a.workers), [j[5] for j in jobs])

    # --- noise from sox: white, pink, brown; 240 s each (sox -R: repeatable), the first
    # half for training, the second half for dev -------------------------------------
    if not os.path.exists(os.path.join(a.out, "noise_dev.npz")):
        halves = {"train": [], "dev": []}
        for color in NOISE_COLORS:
            r = subprocess.run(["sox", "-q", "-R", "-n", "-t", "wav", "-r", str(SR), "-c", "1", "-b", "16",
                                "-e", "signed", "-", "synth", "240", color, "norm", "-6"],
                               capture_output=True, check=True)
            x = read_wav_bytes(r.stdout)
            halves["train"].append(x[: len(x) // 2])
            halves["dev"].append(x[len(x) // 2:])
        for s in ("train", "dev"):
            save_set(os.path.join(a.out, f"noise_{s}"), halves[s], list(NOISE_COLORS))

    trng = random.Random(a.seed + 5)
    test_draw("test", trng, 240, test_pages, trng)
    for n in DRAW_TEXT_PACKAGES:
        if a.test_draws >= n:
            later_draw(n)
    write_test_variants()


if __name__ == "__main__":
    main()
