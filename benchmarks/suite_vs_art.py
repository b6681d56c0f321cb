"""ART's APGD-CE, APGD-DLR and Square next to farbound's on identical weights and images.

Reads what `suite_lenet --members --export DIR` wrote (images.npy, labels.npy, farbound.json:
farbound's per-image verdicts and seconds) and the model through its PyTorch twin
(`farbound-export --torch`). Runs the Adversarial Robustness Toolbox's attacks with farbound's
settings: L-inf, the same eps, APGD 100 iterations, 1 restart, first step 2 eps (ART's eps_step
is APGD's initial step); Square 5000 queries, p_init 0.8, 1 restart. Each attack runs alone on
every image (the per-attack comparison), then the three run as a cascade, each on the images
the earlier ones missed (the ensemble and its time, as farbound's suite runs). With PARTS
`ensemble` only the cascade runs (ART's Square alone on every image takes half an hour on 2
cores).

Prints, per attack, both robust accuracies and their difference (the attacks are randomised,
so the two differ by chance as well), the ensemble worst cases and the seconds of each side.
    suite_vs_art.py DIR TWIN.py MODEL.safetensors [THREADS=2] [BATCH=256] [PARTS=all|ensemble]
"""
import importlib.util
import json
import sys
import time

import numpy as np
import torch
from art.attacks.evasion import AutoProjectedGradientDescent, SquareAttack
from art.estimators.classification import PyTorchClassifier


def load_twin(path, model_file):
    spec = importlib.util.spec_from_file_location("twin", path)
    twin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(twin)
    return twin.load(model_file)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    out_dir, twin_path, model_file = sys.argv[1:4]
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    batch = int(sys.argv[5]) if len(sys.argv) > 5 else 256
    parts = sys.argv[6] if len(sys.argv) > 6 else "all"
    if parts not in ("all", "ensemble"):
        sys.exit(f"suite_vs_art.py: PARTS must be all or ensemble, got {parts}")
    torch.set_num_threads(threads)
    x = np.load(f"{out_dir}/images.npy").astype(np.float32)
    y = np.load(f"{out_dir}/labels.npy").astype(np.int64)
    ours = json.load(open(f"{out_dir}/farbound.json"))
    eps = ours["eps"]
    model = load_twin(twin_path, model_file)
    classifier = PyTorchClassifier(model, loss=torch.nn.CrossEntropyLoss(), input_shape=x.shape[1:],
                                   nb_classes=10, clip_values=(0.0, 1.0), device_type="cpu")

    def predict(images):
        return classifier.predict(images, batch_size=batch).argmax(1)

    def attack(name):
        if name == "Square":
            return SquareAttack(classifier, norm=np.inf, eps=eps, max_iter=5000, p_init=0.8, nb_restarts=1,
                                batch_size=batch, verbose=False)
        loss = "cross_entropy" if name == "APGD-CE" else "difference_logits_ratio"
        return AutoProjectedGradientDescent(classifier, norm=np.inf, eps=eps, eps_step=2 * eps, max_iter=100,
                                            targeted=False, nb_random_init=1, batch_size=batch, loss_type=loss,
                                            verbose=False)

    def run(name, images, labels):
        """ART's attack on images: per image, whether it is fooled; and the seconds it took."""
        start = time.perf_counter()
        adv = attack(name).generate(images, labels)
        seconds = time.perf_counter() - start
        gap = np.abs(adv - images).reshape(len(images), -1).max(1) if len(images) else np.zeros(0)
        assert (gap <= eps + 1e-5).all() and adv.min() >= 0 and adv.max() <= 1, f"{name} left the ball"
        return predict(adv) != labels, seconds

    clean_wrong = predict(x) != y
    n = len(y)
    print(f"farbound vs ART {__import__('art').__version__} (PyTorch {torch.__version__}), L-inf eps {eps}, "
          f"{n} images, {threads} threads, batch {batch}; clean accuracy {100 * (1 - clean_wrong.mean()):.2f} %")
    ours_any, art_any = np.zeros(n, bool), clean_wrong.copy()
    if parts == "all":
        print(f"{'attack':<10}{'farbound %':>12}{'ART %':>10}{'diff':>8}{'farbound s':>12}{'ART s':>10}")
    for name in ("APGD-CE", "APGD-DLR", "Square") if parts == "all" else ():
        fooled, seconds = run(name, x, y)
        fooled |= clean_wrong
        art_any |= fooled
        mine = np.array(ours["members"][name]["fooled"], bool)
        ours_any |= mine
        a, b = 100 * (1 - mine.mean()), 100 * (1 - fooled.mean())
        print(f"{name:<10}{a:>12.2f}{b:>10.2f}{a - b:>8.2f}{ours['members'][name]['seconds']:>12.2f}{seconds:>10.2f}")

    # ART's ensemble as a cascade: each attack on the images still robust, from the clean image.
    robust = ~clean_wrong
    start = time.perf_counter()
    for name in ("APGD-CE", "APGD-DLR", "Square"):
        still = np.flatnonzero(robust)
        if len(still):
            fooled, _ = run(name, x[still], y[still])
            robust[still[fooled]] = False
    art_seconds = time.perf_counter() - start
    suite = ours["suite"]
    suite_robust = 100 * (1 - np.array(suite["fooled"], bool).mean())
    print(f"ensemble worst case: farbound suite ({' '.join(suite['attacks'])}) {suite_robust:.2f} % in "
          f"{suite['seconds']:.2f} s; ART cascade (APGD-CE APGD-DLR Square) {100 * robust.mean():.2f} % in "
          f"{art_seconds:.2f} s")
    if parts == "all":
        print(f"the three alone, per-point worst case: farbound {100 * (1 - ours_any.mean()):.2f} %, "
              f"ART {100 * (1 - art_any.mean()):.2f} %")
    print(f"suite minus ART ensemble: {suite_robust - 100 * robust.mean():+.2f} points; "
          f"ART cascade time / suite time: {art_seconds / suite['seconds']:.2f}x")


if __name__ == "__main__":
    main()
