"""The wake word network: torchvision's ResNet18 topology (BasicBlock, [2,2,2,2])
with a 1-channel 7x7 stem, 2 classes and a chosen base width (64 = torchvision's
resnet18). Input [N,1,n_mels,frames] raw log-mel as the daemon computes it; a
constant Sub/Mul at the start applies the training set's mean and scale, so the
exported graph needs no normalisation outside it.

groups > 1: every convolution after the stem (3x3 and the 1x1 downsamples) is
grouped, so the network is that many ResNet18s of width/groups side by side that
share only the stem's input and the fc's output (merge.py puts trained runs into
one; a dense network with block-diagonal weights computes the same but stores
and multiplies the zeros).

norm "cmn": each mel band's mean over the window's frames is subtracted first
(cepstral mean normalisation in the log-mel domain: a ReduceMean and a Sub in the
exported graph), so a stationary colouring of the spectrum -- a voice's, a
microphone's or a room's -- and the overall level do not reach the network."""
import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock, ResNet


def subtract_band_means(x):
    """norm "cmn": each mel band (axis 2) minus its mean over the window's frames (axis 3)."""
    return x - x.mean(dim=3, keepdim=True)


class WakeNet(nn.Module):
    def __init__(self, width=64, n_classes=2, mean=0.0, inv_std=1.0, groups=1, norm="global"):
        super().__init__()
        r = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=n_classes)
        if width != 64:
            r.inplanes = width
            r.bn1 = nn.BatchNorm2d(width)
            r.layer1 = r._make_layer(BasicBlock, width, 2)
            r.layer2 = r._make_layer(BasicBlock, 2 * width, 2, stride=2)
            r.layer3 = r._make_layer(BasicBlock, 4 * width, 2, stride=2)
            r.layer4 = r._make_layer(BasicBlock, 8 * width, 2, stride=2)
            r.fc = nn.Linear(8 * width, n_classes)
        r.conv1 = nn.Conv2d(1, width, 7, 2, 3, bias=False)
        if groups > 1:
            for layer in (r.layer1, r.layer2, r.layer3, r.layer4):
                for name, c in list(layer.named_modules()):
                    if isinstance(c, nn.Conv2d):
                        g = nn.Conv2d(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding,
                                      bias=False, groups=groups)
                        parent = layer.get_submodule(name.rpartition(".")[0]) if "." in name else layer
                        setattr(parent, name.rpartition(".")[2], g)
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("inv_std", torch.tensor(float(inv_std)))
        self.net = r
        self.width = width
        self.groups = groups
        if norm not in ("global", "cmn"):
            raise ValueError("norm must be global or cmn, not %r" % norm)
        self.norm = norm

    @classmethod
    def from_ckpt(cls, ck):
        """The network a checkpoint (train.py, merge.py) describes, with its weights."""
        m = cls(ck["width"], groups=ck.get("groups", 1), norm=ck.get("norm", "global"))
        m.load_state_dict(ck["state"])
        return m

    def forward(self, x):
        if self.norm == "cmn":
            x = subtract_band_means(x)
        return self.net((x - self.mean) * self.inv_std)
