#!/usr/bin/env python3
"""Prints the PyTorch reference values pasted into tests/optim/*.cpp.

Run with torch 1.13: /usr/bin/python3 tests/optim/pytorch_reference.py
Two parameters, five steps, gradient of the quadratic loss sum(a*p*p/2 + b*p), i.e.
grad = a*p + b, recomputed from the current parameters before every step, in float64.
"""
import torch

P0 = [[0.5, -1.25, 2.0], [0.0, -0.3, 1.5]]
P1 = [0.75, -2.0, 0.0]
A0 = [[1.0, 0.5, 2.0], [3.0, 0.25, 1.5]]
A1 = [2.0, 1.0, 0.5]
B0 = [[0.1, -0.2, 0.3], [-0.4, 0.05, 0.0]]
B1 = [0.0, 0.3, -0.6]
STEPS = 5


def run(make_optimizer):
    p = [torch.tensor(P0, dtype=torch.float64, requires_grad=True),
         torch.tensor(P1, dtype=torch.float64, requires_grad=True)]
    a = [torch.tensor(A0, dtype=torch.float64), torch.tensor(A1, dtype=torch.float64)]
    b = [torch.tensor(B0, dtype=torch.float64), torch.tensor(B1, dtype=torch.float64)]
    opt = make_optimizer(p)
    for _ in range(STEPS):
        opt.zero_grad()
        loss = sum((ai * pi * pi / 2 + bi * pi).sum() for pi, ai, bi in zip(p, a, b))
        loss.backward()
        opt.step()
    return [x for pi in p for x in pi.detach().flatten().tolist()]


cases = {
    "adam_l2": lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.1),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    "adam_betas": lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-3),
    "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "sgd_momentum_dampening": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1),
    "sgd_plain": lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.05),
}
print("torch", torch.__version__)
for name, make in cases.items():
    print(name, "= {" + ", ".join(repr(x) for x in run(make)) + "};")
