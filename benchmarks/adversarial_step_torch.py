#!/usr/bin/python3
"""The PyTorch side of benchmarks/adversarial_step.cpp: one PGD-10 adversarial training step
(Madry et al.) on LeNet/ReLU at batch 64, timed the same way.

PGD-10 L-inf, eps 0.1, step 2.5 eps / 10, uniform random start, clipped to [0, 1], crafted in
eval mode; then model.train(), cross-entropy on the adversarial batch, backward, Adam step.
Prints the median step time over `runs` runs of `steps` steps.

Usage: python3 adversarial_step_torch.py [threads=2] [runs=5] [steps=4]
(Debian's python3-torch 1.13 is what /usr/bin/python3 sees; benchmarks/python_env.sh gives 2.x.)
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batches = [(torch.rand(64, 1, 32, 32), torch.randint(0, 10, (64,))) for _ in range(steps)]
    eps, k = 0.1, 10
    alpha = 2.5 * eps / k

    def step(x, y):
        model.eval()
        x_adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
        for _ in range(k):
            x_adv.requires_grad_(True)
            loss = F.cross_entropy(model(x_adv), y)
            g, = torch.autograd.grad(loss, x_adv)
            x_adv = torch.min(torch.max(x_adv.detach() + alpha * g.sign(), x - eps), x + eps).clamp(0, 1)
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(x_adv), y).backward()
        opt.step()

    for x, y in batches:  # warm-up
        step(x, y)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        for x, y in batches:
            step(x, y)
        times.append((time.perf_counter() - t0) / steps)
    t = statistics.median(times)
    print(f"PyTorch {torch.__version__}: PGD-10 adversarial training step, LeNet/ReLU, batch 64, {threads} threads")
    print(f"  step: median {t * 1e3:.1f} ms over {runs} runs of {steps} steps -> {64 / t:.1f} images/s")
    print(f"RESULT torch adversarial_step threads={threads} ms={t * 1e3:.2f} images_per_s={64 / t:.2f}")


if __name__ == "__main__":
    main()
