#!/usr/bin/python3
"""Fixtures for the quantizer tests (tests/fixtures/quant/):

  narrow_resnet18.onnx  torchvision ResNet18 topology, 1-channel 7x7 stem, base
                        width 8, 2 classes (0 = noise/silence, 1 = speech),
                        trained for a few epochs on log-mel windows of speech
                        synthesised with espeak-ng over sox noise, so its
                        logits behave like a real detector's (not random
                        ties); exported with torch.onnx (opset 17, BatchNorm
                        folded) and the front-end settings in metadata_props.
  calib/*.flac          short mixtures of speech and noise (16 kHz) for
                        calibration through the audio path
  valid/*.flac          held-out mixtures (other voices, other texts)
  valid_22k.wav         one held-out clip at 22.05 kHz (resampled on read)
  inputs.npy            [16,1,64,101] float32 model inputs cut from valid/
  unsupported_op.onnx   a graph with an op the engine does not run (Sin)

Features come from wakewordd's own front end (`wakewordd features`), so run
`make` first. Scratch audio goes to /work/cache/quant (or $WW_CACHE).
Usage: /usr/bin/python3 tests/gen/make_quant_fixture.py"""
import os
import subprocess
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock, ResNet

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "quant")
CACHE = os.environ.get("WW_CACHE", "/work/cache/quant")
WW = os.environ.get("WAKEWORDD", os.path.join(ROOT, "build", "wakewordd"))
SR = 16000
WIN = 101
WIDTH = 8
rng = np.random.default_rng(1234)

TEXTS = [
    "hey jarvis", "turn on the lights", "what is the weather today", "play some music",
    "set a timer for five minutes", "good morning", "call my mother", "open the door",
    "how far is the moon", "stop the alarm", "read me the news", "tell me a joke",
    "switch off the kitchen radio", "remind me to buy bread", "volume up please",
    "what time is it", "start the vacuum cleaner", "lock the front door",
]
TRAIN_VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en+f3", "en+m3"]
HELD_VOICES = ["en-gb-x-gbclan", "en-gb-x-gbcwmd", "en+f2"]
NOISES = ["whitenoise", "pinknoise", "brownnoise"]


def run(*cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def read_raw(path):
    return np.fromfile(path, dtype="<i2").astype(np.float32) / 32768


def speak(text, voice, speed, tag):
    wav = os.path.join(CACHE, f"tts_{tag}.wav")
    raw = wav + ".raw"
    run("espeak-ng", "-v", voice, "-s", str(speed), "-w", wav, text)
    run("sox", "-R", wav, "-r", str(SR), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", raw)
    return read_raw(raw)


def noise(kind, seconds, tag):
    raw = os.path.join(CACHE, f"noise_{tag}.raw")
    run("sox", "-R", "-n", "-r", str(SR), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", raw,
        "synth", str(seconds), kind)
    return read_raw(raw)


def write_audio(path, x, rate=SR):
    raw = path + ".raw"
    np.clip(np.round(x * 32767), -32768, 32767).astype("<i2").tofile(raw)
    args = ["sox", "-R", "-r", str(SR), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", raw]
    if rate != SR:
        args += ["-r", str(rate), path]
    else:
        args += [path]
    run(*args)
    os.remove(raw)


def features(x, tag):
    wav = os.path.join(CACHE, f"mix_{tag}.wav")
    npy = wav + ".npy"
    write_audio(wav, x)
    run(WW, "features", wav, npy)
    return np.load(npy).T  # [64, frames]


def mixture(voices, texts, seconds, tag):
    """Noise for `seconds`, with 1-2 utterances placed in it; returns audio and
    a per-frame speech mask."""
    n = int(seconds * SR)
    x = noise(NOISES[rng.integers(len(NOISES))], seconds, tag) * rng.uniform(0.002, 0.05)
    mask = np.zeros(n, bool)
    for k in range(rng.integers(1, 3)):
        u = speak(texts[rng.integers(len(texts))], voices[rng.integers(len(voices))],
                  int(rng.integers(130, 200)), f"{tag}_{k}")
        u = u[: n // 2] * rng.uniform(0.2, 0.9)
        at = int(rng.integers(0, n - len(u)))
        x[at:at + len(u)] += u
        mask[at:at + len(u)] |= np.abs(u) > 0.01 * np.abs(u).max()
    return x.astype(np.float32), mask


def windows(feat, mask, hop):
    """Model-sized windows and their label: speech in the window's last 60 frames."""
    xs, ys = [], []
    for t in range(0, feat.shape[1] - WIN + 1, hop):
        m = mask[(t + WIN - 60) * 160:(t + WIN) * 160]
        xs.append(feat[:, t:t + WIN])
        ys.append(1 if m.mean() > 0.15 else 0)
    return xs, ys


def net():
    r = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=2)
    r.inplanes = WIDTH
    r.conv1 = nn.Conv2d(1, WIDTH, 7, 2, 3, bias=False)
    r.bn1 = nn.BatchNorm2d(WIDTH)
    r.layer1 = r._make_layer(BasicBlock, WIDTH, 2)
    r.layer2 = r._make_layer(BasicBlock, 2 * WIDTH, 2, stride=2)
    r.layer3 = r._make_layer(BasicBlock, 4 * WIDTH, 2, stride=2)
    r.layer4 = r._make_layer(BasicBlock, 8 * WIDTH, 2, stride=2)
    r.fc = nn.Linear(8 * WIDTH, 2)
    return r


def main():
    os.makedirs(CACHE, exist_ok=True)
    os.makedirs(os.path.join(OUT, "calib"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "valid"), exist_ok=True)
    if not os.path.exists(WW):
        sys.exit(f"{WW}: missing; run make first")
    # training data: 120 mixtures of 3 s from the training voices
    X, Y = [], []
    for i in range(120):
        x, m = mixture(TRAIN_VOICES, TEXTS[:12], 3.0, f"train{i}")
        xs, ys = windows(features(x, f"train{i}"), m, 10)
        X += xs
        Y += ys
    X = torch.tensor(np.stack(X)[:, None])
    Y = torch.tensor(Y)
    print(f"train windows {len(Y)}, speech {int(Y.sum())}", flush=True)
    torch.manual_seed(0)
    model = net()
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    for epoch in range(6):
        perm = torch.randperm(len(Y))
        model.train()
        tot = 0
        for b in range(0, len(Y), 64):
            idx = perm[b:b + 64]
            loss = nn.functional.cross_entropy(model(X[idx]), Y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss) * len(idx)
        print(f"epoch {epoch} loss {tot / len(Y):.4f}", flush=True)
    model.eval()

    # held-out mixtures
    Xv, Yv = [], []
    for i in range(6):
        x, m = mixture(HELD_VOICES, TEXTS[12:], 3.0, f"valid{i}")
        write_audio(os.path.join(OUT, "valid", f"mix{i}.flac"), x)
        xs, ys = windows(features(x, f"valid{i}"), m, 8)
        Xv += xs
        Yv += ys
    for i in range(10):
        x, _ = mixture(TRAIN_VOICES, TEXTS, 2.0, f"calib{i}")
        write_audio(os.path.join(OUT, "calib", f"mix{i}.flac"), x)
    x, _ = mixture(HELD_VOICES, TEXTS, 2.0, "v22k")
    write_audio(os.path.join(OUT, "valid_22k.wav"), x, 22050)
    Xv = np.stack(Xv)[:, None].astype(np.float32)
    with torch.no_grad():
        acc = (model(torch.tensor(Xv)).argmax(1).numpy() == np.array(Yv)).mean()
    print(f"held-out windows {len(Yv)}, accuracy {acc:.3f}", flush=True)
    np.save(os.path.join(OUT, "inputs.npy"), Xv[rng.choice(len(Xv), 16, replace=False)])

    path = os.path.join(OUT, "narrow_resnet18.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, 64, WIN), path, opset_version=17,
                      input_names=["features"], output_names=["logits"],
                      dynamic_axes={"features": {0: "N"}, "logits": {0: "N"}},
                      do_constant_folding=True)
    m = onnx.load(path)
    meta = {"sample_rate": "16000", "n_fft": "512", "win_length": "400", "hop_length": "160",
            "n_mels": "64", "f_min": "0.0", "f_max": "8000.0", "mel_scale": "htk",
            "mel_norm": "none", "log_floor": "1e-06", "window_frames": str(WIN),
            "labels": "noise,speech"}
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    onnx.checker.check_model(m)
    onnx.save(m, path)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    print("wrote", path, os.path.getsize(path), "bytes", ops)


def unsupported_op_model():
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 1, 64, 101])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 64, 101])
    g = helper.make_graph([helper.make_node("Sin", ["features"], ["y"], name="odd_sin")], "g", [x], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(OUT, "unsupported_op.onnx"))


if __name__ == "__main__":
    if sys.argv[1:] == ["--small-only"]:
        unsupported_op_model()
        sys.exit(0)
    unsupported_op_model()
    main()
