"""wakewordd's own log-mel front end (build/libwakeword.so) through ctypes.

Training, export and evaluation all take their features from here, so the
model sees exactly the numbers the daemon computes (dsp/mel.h)."""
import ctypes
import os

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LIB_PATH = os.environ.get("WW_LIB", os.path.join(REPO, "build", "libwakeword.so"))

SAMPLE_RATE = 16000


def _window_frames():
    """The model's window in frames: the recipe's WINDOW_FRAMES (101 = 1.01 s). Every
    stage reads it from here; export.py writes it into the model's metadata."""
    v = os.environ.get("WW_WINDOW_FRAMES", "101")
    # ResNet18 halves the time axis five times: fewer than 32 frames leave nothing
    if not v.isdigit() or not 32 <= int(v) <= 1000:
        raise SystemExit("WW_WINDOW_FRAMES (the recipe's WINDOW_FRAMES): %r is not a number of frames in 32..1000" % v)
    return int(v)


WINDOW_FRAMES = _window_frames()
# daemon/detector.c scores a window every hop_frames frames: 8 for a model without
# the key, 1..10000 accepted
DEFAULT_HOP_FRAMES = 8


def check_hop_frames(hop, prog):
    """--hop-frames within the detector's range, or a one-line exit naming prog."""
    if not 1 <= hop <= 10000:
        raise SystemExit("%s: --hop-frames %d: must be 1..10000 (the detector's range)" % (prog, hop))
WINDOW_SAMPLES = 512 + (WINDOW_FRAMES - 1) * 160  # exactly WINDOW_FRAMES frames (16512 for 101)
N_MELS = 64


class MelConfig(ctypes.Structure):
    _fields_ = [
        ("sample_rate", ctypes.c_int),
        ("n_fft", ctypes.c_int),
        ("win_length", ctypes.c_int),
        ("hop_length", ctypes.c_int),
        ("n_mels", ctypes.c_int),
        ("f_min", ctypes.c_float),
        ("f_max", ctypes.c_float),
        ("mel_scale", ctypes.c_int),
        ("mel_norm", ctypes.c_int),
        ("log_floor", ctypes.c_float),
    ]


class WwError(ctypes.Structure):
    _fields_ = [("msg", ctypes.c_char * 512)]


SINK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(ctypes.c_float))

_lib = None


def lib():
    global _lib
    if _lib is None:
        if not os.path.exists(LIB_PATH):
            raise SystemExit(f"{LIB_PATH}: missing; run 'make -j2' at the repo root")
        _lib = ctypes.CDLL(LIB_PATH)
        _lib.ww_mel_config_default.restype = MelConfig
        _lib.ww_mel_config_default.argtypes = []
        _lib.ww_mel_create.restype = ctypes.c_int
        _lib.ww_mel_create.argtypes = [ctypes.POINTER(MelConfig), ctypes.POINTER(ctypes.c_void_p),
                                       ctypes.POINTER(WwError)]
        _lib.ww_mel_push.restype = ctypes.c_size_t
        _lib.ww_mel_push.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t,
                                     SINK, ctypes.c_void_p]
        _lib.ww_mel_reset.argtypes = [ctypes.c_void_p]
        _lib.ww_mel_destroy.argtypes = [ctypes.c_void_p]
    return _lib


def default_config():
    return lib().ww_mel_config_default()


def metadata(cfg):
    """The front-end settings as the metadata_props keys ww_mel_config_set accepts."""
    return {
        "sample_rate": str(cfg.sample_rate),
        "n_fft": str(cfg.n_fft),
        "win_length": str(cfg.win_length),
        "hop_length": str(cfg.hop_length),
        "n_mels": str(cfg.n_mels),
        "f_min": repr(float(cfg.f_min)),
        "f_max": repr(float(cfg.f_max)),
        "mel_scale": "htk" if cfg.mel_scale == 0 else "slaney",
        "mel_norm": "none" if cfg.mel_norm == 0 else "slaney",
        "log_floor": "%g" % cfg.log_floor,
    }


class Mel:
    """A streaming front end; features(x) returns [frames, n_mels] float32 of a
    fresh stream (reset before each call)."""

    def __init__(self, cfg=None):
        self.cfg = cfg if cfg is not None else default_config()
        err = WwError()
        h = ctypes.c_void_p()
        if lib().ww_mel_create(ctypes.byref(self.cfg), ctypes.byref(h), ctypes.byref(err)) < 0:
            raise RuntimeError("ww_mel_create: " + err.msg.decode())
        self.h = h
        self.n_mels = self.cfg.n_mels
        self._frames = []

        def sink(_user, frame):
            self._frames.append(np.ctypeslib.as_array(frame, (self.n_mels,)).copy())

        self._sink = SINK(sink)

    def features(self, x):
        x = np.ascontiguousarray(x, dtype=np.float32)
        lib().ww_mel_reset(self.h)
        self._frames = []
        lib().ww_mel_push(self.h, x.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), x.size, self._sink, None)
        if not self._frames:
            return np.zeros((0, self.n_mels), np.float32)
        return np.stack(self._frames)

    def stream_features(self, x, dtype=np.float32, chunk=60 * 16000):
        """[frames, n_mels] of one long fresh stream, pushed chunk by chunk as a daemon
        would (the frames do not depend on the chunking)."""
        lib().ww_mel_reset(self.h)
        parts = []
        for b in range(0, len(x), chunk):
            xs = np.ascontiguousarray(x[b:b + chunk], dtype=np.float32)
            self._frames = []
            lib().ww_mel_push(self.h, xs.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), xs.size, self._sink, None)
            if self._frames:
                parts.append(np.stack(self._frames).astype(dtype))
        self._frames = []
        return np.concatenate(parts) if parts else np.zeros((0, self.n_mels), dtype)

    def __del__(self):
        if getattr(self, "h", None):
            lib().ww_mel_destroy(self.h)
            self.h = None
