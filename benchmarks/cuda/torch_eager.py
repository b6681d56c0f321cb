#!/usr/bin/env python3
"""The CUDA harnesses' operations in PyTorch eager on the same GPU, printing the same
RESULT lines (version=torch), for run.sh's table.

smoothness_loss: forward + backward of
    L = (1/B) sum_i [ m_i CE(z_i, y_i) + GR_i ],  GR_i = 1/(K C) sum_k sum_c (p_ic - p_ikc)^2 / r_ik
through autograd, as a PyTorch user would write it (lambda = 1, K = 8).
neighbours: x_ik = x_i + sigma randn, r_ik = ||x_ik - x_i||^2 (torch's own generator: the
same work, not the same numbers).
"""
import sys

import torch


def median_us(fn, repeats=15, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) * 1e3)
    return sorted(times)[repeats // 2]


def report(kernel, size, us, nbytes):
    print(f"RESULT kernel={kernel} version=torch config=eager size={size} us={us:.2f} gbs={nbytes / us * 1e-3:.1f} copy_pct=0",
          flush=True)


def smoothness_loss(rows, classes, K=8):
    B = rows // K
    gen = torch.Generator(device="cuda").manual_seed(1)
    logits = (3 * torch.randn(B + rows, classes, device="cuda", generator=gen)).requires_grad_()
    r = torch.rand(rows, device="cuda", generator=gen) + 1e-2
    labels = torch.arange(B, device="cuda") % classes
    labelled = (torch.arange(B, device="cuda") % 4 != 0).float()

    def step():
        logits.grad = None
        p = torch.softmax(logits[:B], dim=1)
        q = torch.softmax(logits[B:], dim=1).view(B, K, classes)
        gr = (((p[:, None, :] - q) ** 2).sum(2) / r.view(B, K)).sum(1) / (K * classes)
        ce = torch.nn.functional.cross_entropy(logits[:B], labels, reduction="none") * labelled
        ((ce + gr).sum() / B).backward()

    nbytes = (B + rows) * classes * 4 * 2 + rows * 4
    report("smoothness_loss", f"BK{rows}_C{classes}", median_us(step), nbytes)


def neighbours(rows, dim, K=8, sigma=0.01):
    B = rows // K
    anchors = torch.rand(B, dim, device="cuda")

    def step():
        x = anchors.repeat_interleave(K, dim=0)
        out = x + sigma * torch.randn_like(x)
        r = ((out - x) ** 2).sum(1)
        return out, r

    nbytes = (B * dim + rows * dim + rows) * 4
    report("neighbours", f"BK{rows}_D{dim}", median_us(step), nbytes)


def main():
    if not torch.cuda.is_available():
        print("torch_eager.py: PyTorch sees no CUDA device", file=sys.stderr)
        return 77
    for rows in (64, 4096, 262144):
        for classes in (10, 100, 1000):
            smoothness_loss(rows, classes)
        for dim in (1024, 3072):
            neighbours(rows, dim)
    return 0


if __name__ == "__main__":
    sys.exit(main())
