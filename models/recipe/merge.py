#!/usr/bin/python3
"""Stage: K trained networks of base width w become one ResNet18 of base width K*w
whose logits are the mean of theirs.

Every layer of the ResNet18 topology works channel by channel or mixes channels
only through convolutions and the final fc. So the K members sit side by side:
the stem's output channels are concatenated, every later convolution (3x3 and the
1x1 downsamples) becomes a grouped convolution with K groups, member i's weights
in group i (ONNX Conv's `group`; the int8 kernels and ORT run it), BatchNorm
parameters and statistics are concatenated, and the fc reads all K*8w pooled
channels with each member's weights divided by K. The result is exactly the
ensemble: the script checks it on test-split-like inputs before writing.

--dense writes the same network as a plain torchvision ResNet18 of width K*w
with block-diagonal weights (member i's in block i, zeros elsewhere): the same
logits, but K times the weights and multiply-adds (3 members: 6.4 MB instead of
2.2 MB int8, 0.76 ms instead of 0.40 ms per window here).

Why: runs of the same recipe differ by 10 points or more on voices they never
saw (models/MODEL_HISTORY.md); the mean of several runs varies less and scored better than
any single run. The members must have the same width; each run normalises its
input with statistics of its own sample of the features, so all are first
re-expressed on the first member's normalisation (renormalise)."""
import argparse
import os

import torch

import wwfeat
from model import WakeNet


def renormalise(state, mean, inv_std):
    """The member re-expressed on another input normalisation (mean, inv_std).
    Its own input to the stem is a*z + b with z the shared normalised input,
    a = inv_std_i / inv_std, b = inv_std_i * (mean - mean_i): a goes into the stem's
    weights, b times each filter's sum into the stem BatchNorm's running mean. Exact
    away from the edges; within the stem's 3-frame padding the zeros stand for
    slightly different raw values (the difference of the means, a few thousandths
    of a log unit in practice), which the check in main() measures."""
    st = {k: v.clone() for k, v in state.items()}
    a = float(st["inv_std"] / inv_std)
    b = float(st["inv_std"] * (mean - st["mean"]))
    w = st["net.conv1.weight"]
    st["net.bn1.running_mean"] = st["net.bn1.running_mean"] - b * w.sum((1, 2, 3))
    st["net.conv1.weight"] = w * a
    st["mean"], st["inv_std"] = mean.clone(), inv_std.clone()
    return st


def merge(states, width, grouped, norm):
    k = len(states)
    big = WakeNet(width * k, groups=k if grouped else 1, norm=norm)
    out = big.state_dict()
    states = [renormalise(s, states[0]["mean"], states[0]["inv_std"]) for s in states]
    for name, dst in out.items():
        parts = [s[name] for s in states]
        if name in ("mean", "inv_std"):
            out[name] = parts[0].clone()
        elif name.endswith("num_batches_tracked"):
            out[name] = parts[0].clone()
        elif name == "net.fc.weight":
            out[name] = torch.cat(parts, 1) / k
        elif name == "net.fc.bias":
            out[name] = sum(parts) / k
        elif dst.dim() == 4 and (grouped or name == "net.conv1.weight"):
            out[name] = torch.cat(parts, 0)  # group i (the stem: one input channel) holds member i
        elif dst.dim() == 4:
            w = torch.zeros_like(dst)
            o, i = parts[0].shape[:2]
            for j, p in enumerate(parts):
                w[j * o:(j + 1) * o, j * i:(j + 1) * i] = p
            out[name] = w
        elif dst.dim() == 1:
            out[name] = torch.cat(parts, 0)
        else:
            raise SystemExit("merge: unexpected parameter %s %s" % (name, tuple(dst.shape)))
    big.load_state_dict(out)
    return big


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--dense", action="store_true",
                    help="block-diagonal dense convolutions instead of grouped ones")
    ap.add_argument("ckpts", nargs="+")
    a = ap.parse_args()
    cks = [torch.load(p, map_location="cpu") for p in a.ckpts]
    widths = {c["width"] for c in cks}
    if len(widths) != 1:
        raise SystemExit("members of different widths: %s" % sorted(widths))
    width = widths.pop()
    norms = {c.get("norm", "global") for c in cks}
    if len(norms) != 1:
        raise SystemExit("members with different input normalisations: %s" % sorted(norms))
    norm = norms.pop()
    big = merge([c["state"] for c in cks], width, not a.dense, norm).eval()
    # the merged network must be the ensemble: mean of the members' logits
    members = []
    for c in cks:
        members.append(WakeNet.from_ckpt(c).eval())
    g = torch.Generator().manual_seed(5)
    x = members[0].mean + torch.randn(64, 1, wwfeat.N_MELS, wwfeat.WINDOW_FRAMES, generator=g) / members[0].inv_std
    with torch.no_grad():
        want = torch.stack([m(x) for m in members]).mean(0)
        got = big(x)
    err = float((got - want).abs().max())
    if err > 0.01 * max(1.0, float(want.abs().max())):
        raise SystemExit("merge: the merged network differs from the ensemble by %g" % err)
    tmp = a.out + ".tmp"
    torch.save({"width": width * len(cks), "groups": big.groups, "norm": norm, "state": big.state_dict(),
                "members": [os.path.abspath(p) for p in a.ckpts], "member_width": width}, tmp)
    os.replace(tmp, a.out)
    print("%s: %d members of width %d -> width %d (%s); max |logit - ensemble mean| %.2e" %
          (a.out, len(cks), width, width * len(cks), "dense" if a.dense else "%d groups" % big.groups, err))


if __name__ == "__main__":
    main()
