#!/usr/bin/python3
"""The PyTorch side of benchmarks/train_throughput.cpp: the same training step, timed the same way.

LeNet (sigmoid), Fashion-MNIST zero-padded to 32x32, Nu = 1 (sigma_u 0.05), K = 1 (sigma_n 0.005),
lambda 1e4, Adam 1e-3, one forward of [anchors; neighbours] per step, the reference's GRLoss in
batch form (docs/papers.md section 1). Prints the median anchors/s over `runs` epochs after one warm-up epoch.

Usage: /usr/bin/python3 train_throughput_torch.py BATCH [threads=2] [labelled] [runs=5]
(Debian's python3-torch 1.13 is what /usr/bin/python3 sees.)
"""
import gzip
import statistics
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def load_images(n):
    with gzip.open('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz') as f:
        _, count, rows, cols = struct.unpack('>IIII', f.read(16))
        n = min(n, count)
        x = torch.frombuffer(bytearray(f.read(n * rows * cols)), dtype=torch.uint8).float().div(255)
    with gzip.open('/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz') as f:
        f.read(8)
        y = torch.frombuffer(bytearray(f.read(n)), dtype=torch.uint8).long()
    return F.pad(x.view(n, 1, rows, cols), (2, 2, 2, 2)), y


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = (x - 0.2860) / 0.3530
        x = F.max_pool2d(torch.sigmoid(self.conv1(x)), 2)
        x = F.max_pool2d(torch.sigmoid(self.conv2(x)), 2).flatten(1)
        return self.fc3(torch.sigmoid(self.fc2(torch.sigmoid(self.fc1(x)))))


def main():
    batch = int(sys.argv[1])
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    labelled = int(sys.argv[3]) if len(sys.argv) > 3 else (4096 if batch >= 64 else 256)
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x, y = load_images(labelled)
    model = LeNet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lam, sigma_u, sigma_n = 1e4, 0.05, 0.005

    def epoch():
        # Anchors: the labelled images and one unlabelled copy of each, shuffled.
        anchors = torch.cat([x, x + sigma_u * torch.randn_like(x)])
        labels = torch.cat([y, torch.full_like(y, -1)])
        order = torch.randperm(len(anchors))
        start = time.perf_counter()
        for first in range(0, len(anchors), batch):
            idx = order[first:first + batch]
            xa, ya = anchors[idx], labels[idx]
            noise = sigma_n * torch.randn_like(xa)
            logits = model(torch.cat([xa, xa + noise]))
            za, zn = logits[:len(xa)], logits[len(xa):]
            r = noise.flatten(1).pow(2).sum(1, keepdim=True)
            gr = ((za.softmax(1) - zn.softmax(1)).pow(2) / r).mean(1)
            ce = F.cross_entropy(za, ya.clamp(min=0), reduction='none') * (ya >= 0)
            loss = (ce + lam * gr).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return len(anchors) / (time.perf_counter() - start)

    epoch()  # warm-up
    rates = sorted(epoch() for _ in range(runs))
    print(f'pytorch train step: LeNet/sigmoid, K=1, Nu=1, batch {batch}, {threads} threads, {len(x)} labelled: '
          f'median {statistics.median(rates):.0f} anchors/s (min {rates[0]:.0f}, max {rates[-1]:.0f}, {runs} runs)')


if __name__ == '__main__':
    main()
