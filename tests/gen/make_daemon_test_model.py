#!/usr/bin/python3
"""Makes the daemon's test fixtures: a tiny ONNX "wake word" model that fires on
a loud 1 kHz tone burst, and a recording with two such bursts in quiet noise.
They stand in for the trained model in the end-to-end tests of `run` and
`detect` (the real model is trained elsewhere); everything downstream of the
model (capture, front end, windows, softmax, smoothing, refractory period,
events) is the product's own path.

The model: input [1,1,64,101] log-mel (the front end of dsp/mel.h, whose
settings go into metadata_props), a fixed Conv of kernel [64,1] that takes the
1 kHz band minus the mean of the bands far from it, Relu after a bias so only a
strong tone counts, GlobalAveragePool over the window, Flatten, and a Gemm to
two logits [background, tone]: P(tone) = sigmoid(2*a*(x - b)) where x is the
mean tone excess over the window. Ops: Conv, Relu, GlobalAveragePool, Flatten,
Gemm, which the engine supports.

    /usr/bin/python3 tests/gen/make_daemon_test_model.py [OUTDIR]

Needs Debian's python3-onnx, -torch, -torchaudio. Outputs are committed
(tests/fixtures/daemon/), so `make check` needs none of them. It also prints
the score torchaudio's front end + onnx reference evaluation gives each file,
as a check of the margins."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures", "daemon")
SR, N_FFT, WIN, HOP, N_MELS, FMIN, FMAX, FLOOR = 16000, 512, 400, 160, 64, 0.0, 8000.0, 1e-6
WINDOW = 101
TONE_HZ = 1000.0
EXCESS_BIAS = 6.0   # log units the tone band must exceed the far bands by to count
GAIN = 4.0          # a in sigmoid(2a(x-b))
CENTER = 3.0        # b: mean excess over the window at P = 0.5
BURSTS = [(2.0, 0.7), (5.5, 0.7)]  # (start s, length s) in the recording
LENGTH_S = 8.0


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + f / 700.0)


def tone_band():
    """Index of the HTK mel band whose centre is nearest 1 kHz."""
    pts = np.linspace(hz_to_mel(FMIN), hz_to_mel(FMAX), N_MELS + 2)
    centres = 700.0 * (10 ** (pts[1:-1] / 2595.0) - 1.0)
    return int(np.argmin(np.abs(centres - TONE_HZ)))


def make_model():
    k = tone_band()
    w = np.zeros((1, 1, N_MELS, 1), np.float32)
    far = [i for i in range(N_MELS) if abs(i - k) > 4]
    w[0, 0, k, 0] = 1.0
    w[0, 0, far, 0] = -1.0 / len(far)
    nodes = [
        helper.make_node("Conv", ["features", "band_w", "band_b"], ["excess"], kernel_shape=[N_MELS, 1],
                         name="tone_band"),
        helper.make_node("Relu", ["excess"], ["strong"], name="relu"),
        helper.make_node("GlobalAveragePool", ["strong"], ["pooled"], name="gap"),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1, name="flatten"),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], name="fc"),
    ]
    inits = [
        numpy_helper.from_array(w, "band_w"),
        numpy_helper.from_array(np.array([-EXCESS_BIAS], np.float32), "band_b"),
        numpy_helper.from_array(np.array([[-GAIN, GAIN]], np.float32), "fc_w"),
        numpy_helper.from_array(np.array([GAIN * CENTER, -GAIN * CENTER], np.float32), "fc_b"),
    ]
    graph = helper.make_graph(
        nodes, "tone_detector",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 1, N_MELS, WINDOW])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])], inits)
    model = helper.make_model(graph, producer_name="wakewordd-tests",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    meta = dict(sample_rate=SR, n_fft=N_FFT, win_length=WIN, hop_length=HOP, n_mels=N_MELS, f_min=FMIN,
                f_max=FMAX, mel_scale="htk", mel_norm="none", log_floor=FLOOR, window_frames=WINDOW,
                labels="background,tone", keyword="tone", threshold=0.5, hop_frames=8,
                smoothing_frames=3, refractory_s=1.5)
    for key, v in meta.items():
        e = model.metadata_props.add()
        e.key, e.value = key, str(v)
    onnx.checker.check_model(model)
    return model


def make_recording():
    rng = np.random.default_rng(6)
    n = int(LENGTH_S * SR)
    x = 0.01 * rng.standard_normal(n)
    t = np.arange(n) / SR
    for start, length in BURSTS:
        a, b = int(start * SR), int((start + length) * SR)
        ramp = np.minimum(1.0, np.minimum(np.arange(b - a), np.arange(b - a)[::-1]) / 160.0)
        x[a:b] += 0.5 * ramp * np.sin(2 * np.pi * TONE_HZ * t[a:b])
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


def reference_scores(model, pcm):
    """The detector rule in Python over torchaudio features, for the margins."""
    import torch
    import torchaudio
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=SR, n_fft=N_FFT, win_length=WIN, hop_length=HOP,
                                               f_min=FMIN, f_max=FMAX, n_mels=N_MELS, center=False,
                                               power=2.0, mel_scale="htk", norm=None)
    x = torch.from_numpy(pcm.astype(np.float32) / 32768.0)
    f = torch.log(mel(x.double().float()) + FLOOR).numpy()  # [n_mels, frames]
    # the graph by hand in numpy (Debian's onnx has no reference evaluator)
    w = numpy_helper.to_array(model.graph.initializer[0])[0, 0, :, 0]
    bb = numpy_helper.to_array(model.graph.initializer[1])[0]
    fw = numpy_helper.to_array(model.graph.initializer[2])[0]
    fb = numpy_helper.to_array(model.graph.initializer[3])
    probs = []
    for c in range(WINDOW, f.shape[1] + 1, 8):
        win = f[:, c - WINDOW:c].astype(np.float64)
        x = np.maximum(w @ win + bb, 0).mean()
        lo = x * fw + fb
        e = np.exp(lo - lo.max())
        probs.append((((c - 1) * HOP + N_FFT) / SR, float(e[1] / e.sum())))
    return probs


def main():
    os.makedirs(OUT, exist_ok=True)
    model = make_model()
    onnx.save(model, os.path.join(OUT, "tone_model.onnx"))
    pcm = make_recording()
    import wave
    with wave.open(os.path.join(OUT, "tone_bursts.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.tobytes())
    try:
        probs = reference_scores(model, pcm)
        peaks = [(t, p) for t, p in probs if p > 0.5]
        print("windows over 0.5:", len(peaks), "first/last:", peaks[:1], peaks[-1:])
        print("max P outside bursts:", max(p for t, p in probs
                                            if all(not (s - 0.2 < t < s + l + 1.2) for s, l in BURSTS)))
    except ImportError as e:  # the fixtures do not need the check
        print("skipping the reference check:", e)


if __name__ == "__main__":
    main()
