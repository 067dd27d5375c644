"""The wake word network: torchvision's ResNet18 topology (BasicBlock, [2,2,2,2])
with a 1-channel 7x7 stem, 2 classes and a chosen base width (64 = torchvision's
resnet18). Input [N,1,n_mels,frames] raw log-mel as the daemon computes it; a
constant Sub/Mul at the start applies the training set's mean and scale, so the
exported graph needs no normalisation outside it."""
import torch
import torch.nn as nn
from torchvision.models.resnet import BasicBlock, ResNet


class WakeNet(nn.Module):
    def __init__(self, width=64, n_classes=2, mean=0.0, inv_std=1.0):
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
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("inv_std", torch.tensor(float(inv_std)))
        self.net = r
        self.width = width

    def forward(self, x):
        return self.net((x - self.mean) * self.inv_std)
