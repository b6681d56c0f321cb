#!/usr/bin/python3
"""The PyTorch side of benchmarks/resnet9_step.cpp: the same model and step, timed the same way.

ResNet9 as farbound's zoo builds it: Normalize, conv-InstanceNorm(no affine)-CELU blocks
(prep 32; 64 + max-pool 2 + residual of two 64-blocks; 128 + pool + residual; 512 + residual),
max-pool 8, linear 512 -> 10. One step: zero the gradients, forward a [32, 3, 32, 32] batch,
backward from a fixed dL/dlogits. Prints the median step time over `runs` runs of `steps` steps.

Usage: python3 resnet9_step_torch.py [threads=2] [runs=5] [steps=3]
(Debian's python3-torch 1.13 is what /usr/bin/python3 sees; any PyTorch >= 1.13 works.)
"""
import statistics
import sys
import time

import torch
import torch.nn as nn


def block(cin, cout, pool=False):
    layers = [nn.Conv2d(cin, cout, 3, padding=1), nn.InstanceNorm2d(cout, affine=False), nn.CELU()]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class Residual(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(block(channels, channels), block(channels, channels))

    def forward(self, x):
        return x + self.body(x)


class ResNet9(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer('mean', torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1))
        self.register_buffer('std', torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1))
        self.net = nn.Sequential(block(3, 32), block(32, 64, pool=True), Residual(64), block(64, 128, pool=True),
                                 Residual(128), block(128, 512), Residual(512), nn.MaxPool2d(8), nn.Flatten(),
                                 nn.Linear(512, 10))

    def forward(self, x):
        return self.net((x - self.mean) / self.std)


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = ResNet9()
    x = torch.rand(32, 3, 32, 32)
    g = torch.randn(32, 10) * 0.1

    def step():
        model.zero_grad(set_to_none=False)
        model(x).backward(g)

    step()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        times.append((time.perf_counter() - t0) / steps)
    t = statistics.median(times)
    print(f'ResNet9 forward+backward, batch 32, PyTorch {torch.__version__}, {threads} threads: '
          f'median {t * 1e3:.1f} ms -> {32 / t:.1f} images/s')
    print(f'RESULT torch{torch.__version__} resnet9_step threads={threads} ms={t * 1e3:.2f} images_per_s={32 / t:.2f}')


if __name__ == '__main__':
    main()
