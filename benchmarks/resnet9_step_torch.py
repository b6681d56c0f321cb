#!/usr/bin/python3
"""The PyTorch side of benchmarks/resnet9_step.cpp: the same model and step, timed the same way.

ResNet9 as farbound's zoo builds it: Normalize, conv-InstanceNorm(no affine)-CELU blocks
(prep 32; 64 + max-pool 2 + residual of two 64-blocks; 128 + pool + residual; 512 + residual),
max-pool 8, linear 512 -> 10. One step: zero the gradients, forward a [32, 3, 32, 32] batch,
backward from a fixed dL/dlogits. Prints the median step time over `runs` runs of `steps` steps;
with `layers`, also each top-level layer's forward and backward alone (fastest of the runs, as
resnet9_step prints farbound's: a block's conv, norm, activation and pool each one line, a
residual block one line, the first layer without an input gradient).

Usage: python3 resnet9_step_torch.py [threads=2] [runs=5] [steps=3] [layers]
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


def top_level_layers(model):
    """(name, callable) in farbound's order: Normalize, then the blocks' layers one by one."""
    layers = [('Normalize', lambda x: (x - model.mean) / model.std)]
    for m in model.net:
        children = list(m.children()) if isinstance(m, nn.Sequential) else [m]
        layers += [(type(c).__name__ + (f'({c.in_channels} -> {c.out_channels})' if isinstance(c, nn.Conv2d) else ''), c)
                   for c in children]
    return layers


def print_layer_times(model, x, g, runs):
    layers = top_level_layers(model)
    fwd, bwd = [float('inf')] * len(layers), [0.0] * len(layers)
    for _ in range(runs):
        model.zero_grad(set_to_none=False)
        saved, inp = [], x
        for i, (_, f) in enumerate(layers):
            # As in the whole step, the first convolution (layer 1) makes no input gradient.
            a = inp.detach().requires_grad_(i > 1)
            t0 = time.perf_counter()
            y = f(a)
            fwd[i] = min(fwd[i], time.perf_counter() - t0)
            saved.append((a, y))
            inp = y
        grad = g
        for i in reversed(range(len(layers))):
            a, y = saved[i]
            if not y.requires_grad:  # Normalize: no parameters, no input gradient
                continue
            t0 = time.perf_counter()
            y.backward(grad)
            t = time.perf_counter() - t0
            bwd[i] = t if bwd[i] == 0 else min(bwd[i], t)
            grad = a.grad
    print(f'  per layer (fastest of {runs} runs, us)     forward   backward')
    for (name, _), f, b in zip(layers, fwd, bwd):
        print(f'    {name:<40} {f * 1e6:8.1f}   {b * 1e6:8.1f}')
    print(f'    {"sum":<40} {(sum(fwd) + sum(bwd)) * 1e6:8.1f} us in all')


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
    if len(sys.argv) > 4 and sys.argv[4] == 'layers':
        print_layer_times(model, x, g, runs)


if __name__ == '__main__':
    main()
