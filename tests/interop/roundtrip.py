#!/usr/bin/env python3
"""Models both ways between farbound and PyTorch (ctest "interop").

usage: roundtrip.py PROBE FARBOUND_EXPORT WORK_DIR

For LeNet (sigmoid and ReLU), an MLP and ResNet9, in float32:
  farbound -> PyTorch: the probe saves a zoo model, farbound-export --torch writes its twin,
      the twin loads the file (strict) and must give the probe's logits (1e-5 relative)
      and input gradients of the mean cross-entropy (1e-4 relative) on 64 random inputs;
      the two libraries round differently (about 5e-6 relative on ResNet9's logits), which
      can flip a max pool's choice between two nearly equal inputs and send that item's
      gradient elsewhere, so up to the case's allowance of items may miss the gradient
      tolerance (ResNet9 flips 1 or 2 of 64 items, and how many moves with any rounding
      change in either library: if flips come at 1.5 per run on average, more than 5 come
      once in 200 runs; a wrong gradient misses the tolerance on every item);
  PyTorch -> farbound: a freshly initialised twin's state_dict, saved as safetensors, goes
      through farbound-export --import with the twin's ARCHITECTURE, and the
      probe must give the twin's logits and gradients on the same inputs.
Exits 77 (skipped) when torch cannot be imported.
"""
import importlib.util
import json
import os
import struct
import subprocess
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("interop skipped: python3 cannot import torch")
    sys.exit(77)

LOGIT_TOL, GRAD_TOL = 1e-5, 1e-4
# name, architecture, activation, input channels, items allowed past GRAD_TOL
CASES = [("lenet_sigmoid", "lenet", "sigmoid", 1, 2), ("lenet_relu", "lenet", "relu", 1, 2),
         ("mlp", "mlp", "tanh", 1, 2), ("resnet9", "resnet9", "celu", 3, 5)]


def write_safetensors(path, tensors):
    """What safetensors.torch.save_file writes, as float32."""
    header, blobs, offset = {}, [], 0
    for key, t in tensors.items():
        raw = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[key] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def run(*args):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"FAILED: {' '.join(map(str, args))}\n{done.stdout}{done.stderr}")


def torch_outputs(model, x, y):
    x = x.clone().requires_grad_(True)
    logits = model(x)
    (grad,) = torch.autograd.grad(F.cross_entropy(logits, y), x)
    return logits.detach(), grad


def relative(a, b):
    """max |a - b| / max |b| for each item (axis 0)."""
    return (a - b).flatten(1).abs().amax(1) / b.abs().max().clamp_min(1e-30)


def compare(what, twin, probe, work, model_file, model, x, y, max_flipped):
    run(probe, "eval", model_file, os.path.join(work, "inputs.safetensors"), os.path.join(work, "out.safetensors"))
    ours = twin.load_tensors(os.path.join(work, "out.safetensors"))
    logits, grad = torch_outputs(model, x, y)
    dl, dg = relative(ours["logits"], logits), relative(ours["grad"], grad)
    flipped = int((dg > GRAD_TOL).sum())
    ok = dl.max() <= LOGIT_TOL and flipped <= max_flipped
    print(f"{what}: logits {dl.max():.2e}, input gradients {dg.median():.2e} relative (median item), "
          f"{flipped} item(s) beyond {GRAD_TOL:g} ({max_flipped} allowed): {'ok' if ok else 'FAILED'}")
    return ok


def main():
    probe, export, work = sys.argv[1:4]
    os.makedirs(work, exist_ok=True)
    torch.manual_seed(0)
    ok = True
    for name, arch, activation, channels, max_flipped in CASES:
        x = torch.rand(64, channels, 32, 32)
        y = torch.randint(0, 10, (64,))
        write_safetensors(os.path.join(work, "inputs.safetensors"), {"x": x, "y": y.to(torch.float32)})

        # farbound -> PyTorch
        ours = os.path.join(work, name + ".safetensors")
        module_file = os.path.join(work, name + "_twin.py")
        run(probe, "make", arch, activation, channels, ours)
        run(export, "--torch", module_file, ours)
        spec = importlib.util.spec_from_file_location(name + "_twin", module_file)
        twin = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(twin)
        ok &= compare(name + " farbound -> torch", twin, probe, work, ours, twin.load(ours), x, y, max_flipped)

        # PyTorch -> farbound: a fresh twin, with its own normalisation constants.
        model = twin.build().eval()
        for m in model.modules():
            if isinstance(m, twin.Normalize):
                m.mean.uniform_(0.2, 0.6)
                m.std.uniform_(0.2, 0.5)
        theirs = os.path.join(work, name + "_torch.safetensors")
        write_safetensors(theirs, model.state_dict())
        arch_file = os.path.join(work, name + "_arch.json")
        with open(arch_file, "w") as f:
            json.dump(twin.ARCHITECTURE, f)
        imported = os.path.join(work, name + "_imported.safetensors")
        run(export, "--import", arch_file, theirs, imported)
        ok &= compare(name + " torch -> farbound", twin, probe, work, imported, model, x, y, max_flipped)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
