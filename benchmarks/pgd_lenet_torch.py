#!/usr/bin/python3
"""PGD-20 L-inf on LeNet over the Fashion-MNIST test set in PyTorch: the reference for
benchmarks/pgd_lenet.cpp.

Reads what `pgd_lenet --export DIR` wrote (the weights as one .npy per state_dict key, the
32x32 test images in [0, 1], the labels and farbound's result), runs the same attack with
the same settings (eps, 20 steps of 2.5 eps / 20, random start, batch size, threads) in the
usual PyTorch way (autograd for the input gradient, parameters frozen, model in eval mode),
and prints images/s, the median over --runs runs, and the ratio farbound / PyTorch.

Usage: /usr/bin/python3 benchmarks/pgd_lenet_torch.py DIR [--runs 5] [--threads 2] [--images N]
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Normalize(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x):
        return (x - self.mean) / self.std


def lenet():
    # Index i here is layer i of the farbound model, so state_dict keys match the file names.
    return nn.Sequential(
        Normalize(0.2860, 0.3530),
        nn.Conv2d(1, 6, 5), nn.Sigmoid(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


def pgd(model, x0, y, eps, steps, lower=0.0, upper=1.0):
    step = 2.5 * eps / steps
    x = (x0 + torch.empty_like(x0).uniform_(-eps, eps)).clamp(lower, upper)
    for _ in range(steps):
        x.requires_grad_(True)
        loss = F.cross_entropy(model(x), y)
        (grad,) = torch.autograd.grad(loss, x)
        with torch.no_grad():
            x = torch.min(torch.max(x + step * grad.sign(), x0 - eps), x0 + eps).clamp(lower, upper)
    return x.detach()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="default: farbound's")
    parser.add_argument("--images", type=int, default=None, help="attack only the first images (profiling)")
    args = parser.parse_args()

    with open(os.path.join(args.dir, "farbound.json")) as f:
        ours = json.load(f)
    threads = args.threads or ours["threads"]
    torch.set_num_threads(threads)
    torch.manual_seed(1)

    model = lenet().eval()
    state = {k: torch.from_numpy(np.load(os.path.join(args.dir, k + ".npy"))) for k in model.state_dict()}
    model.load_state_dict(state)
    for p in model.parameters():
        p.requires_grad_(False)
    x = torch.from_numpy(np.load(os.path.join(args.dir, "images.npy")))[:args.images]
    y = torch.from_numpy(np.load(os.path.join(args.dir, "labels.npy")).astype(np.int64))[:args.images]
    n, batch, eps = len(x), ours["batch"], ours["eps"]
    print(f"PyTorch {torch.__version__}, {threads} threads, batch {batch}, eps {eps}")

    with torch.no_grad():
        clean = sum((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item() for i in range(0, n, batch)) / n
    seconds, robust = [], 0.0
    for r in range(args.runs):
        t0 = time.perf_counter()
        correct = 0
        for i in range(0, n, batch):
            adv = pgd(model, x[i:i + batch], y[i:i + batch], eps, 20)
            with torch.no_grad():
                correct += (model(adv).argmax(1) == y[i:i + batch]).sum().item()
        seconds.append(time.perf_counter() - t0)
        robust = correct / n
        print(f"  run {r + 1}: {seconds[-1]:.2f} s, {n / seconds[-1]:.1f} images/s")
    images_per_s = n / statistics.median(seconds)
    print(f"  clean accuracy {clean:.4f} (farbound {ours['clean_accuracy']:.4f}), "
          f"robust accuracy {robust:.4f} (farbound {ours['robust_accuracy']:.4f})")
    print(f"  PyTorch: median {statistics.median(seconds):.2f} s -> {images_per_s:.1f} images/s")
    print(f"  farbound: {ours['images_per_s']:.1f} images/s -> ratio {ours['images_per_s'] / images_per_s:.2f}x")


if __name__ == "__main__":
    main()
