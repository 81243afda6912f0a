"""Tried, not adopted: the bf16 backend's matrix products cut into fixed blocks of rows.

oneDNN builds a bf16 matrix-product kernel for every new number of rows (14-28 ms at about 1,000 rows
in one forward at DistilBERT size), and the explainer's masked rows nearly always bring a new one.
Cutting every product into blocks of ``block`` rows, the last padded to a multiple of ``align``
(:func:`blocked_linear`), leaves a handful of shapes, each built once per process.

Every setting gets its own bf16 copy of a DistilBERT of the real shape (random weights) in this one
process, and they explain held-out validation texts (``bench.speed.explain_sampling.held_out_texts``, none
of the explain bench's 24) text by text in turn, the order rotating, so the machine's load falls on
all settings alike. Kernels are cached per process and shape, as in the app: after the warm-up the
blocked settings reuse theirs, while the unblocked copy (``0,0``: one product per call, the backend's
code) meets a new row count with nearly every text. Prints one JSON object: per setting the explain
p50, the sum, and the median over texts of its time divided by the unblocked copy's on the same text.

    python bench/speed/bf16_blocks.py                  # 80 texts, 6 settings (a few minutes)
    python bench/speed/bf16_blocks.py --quick          # smoke run: 3 texts, 2 settings, a small DistilBERT
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import EMOTION, SMALL_DISTILBERT, build_random_distilbert  # noqa: E402

SETTINGS = ((0, 0), (128, 16), (256, 16), (256, 32), (512, 16), (512, 32))
WARM_UP = "i feel a little nervous about tomorrow but mostly excited to see everyone again"


def blocked_linear(module: Any, x: Any, *, block: int, align: int) -> Any:
    """``module(x)`` computed ``block`` rows at a time, the last block padded to a multiple of ``align`` rows."""
    import torch
    import torch.nn.functional as F

    flat = x.reshape(-1, x.shape[-1])
    outs = []
    for start in range(0, flat.shape[0], block):
        part = flat[start : start + block]
        rows = part.shape[0]
        pad = -rows % align
        y = F.linear(F.pad(part, (0, 0, 0, pad)) if pad else part, module.weight, module.bias)
        outs.append(y[:rows] if pad else y)
    out = outs[0] if len(outs) == 1 else torch.cat(outs)
    return out.reshape(*x.shape[:-1], module.out_features)


def _copy_with(clf: Any, block: int, align: int) -> Any:
    """A bf16 backend over a fresh copy of ``clf``'s model, its linear layers cut as the setting says."""
    import torch

    from core.classifier.backends import TorchBackend

    backend = TorchBackend(clf.model, bf16=True)
    for module in backend.model.modules():
        if isinstance(module, torch.nn.Linear):
            if block:
                module.forward = functools.partial(blocked_linear, module, block=block, align=align)
    return backend


def run(model_dir: Path, texts: list[str], settings: tuple[tuple[int, int], ...]) -> dict[str, Any]:
    import torch

    from core.classifier.model import load_classifier
    from core.explanation.explain import TokenShapExplainer

    torch.set_num_threads(2)
    clf = load_classifier(model_dir, backend="torch")
    names = [f"{b},{a}" for b, a in settings]
    explainers = {n: TokenShapExplainer(clf.model, clf.tokenizer, clf.labels, cache_size=0,
                                        backend=_copy_with(clf, b, a))
                  for n, (b, a) in zip(names, settings, strict=True)}
    for e in explainers.values():
        e.explain(WARM_UP)
    secs: dict[str, list[float]] = {n: [] for n in names}
    for i, text in enumerate(texts):
        for n in names[i % len(names):] + names[: i % len(names)]:
            secs[n].append(explainers[n].explain(text).seconds)
        print(f"{i + 1}/{len(texts)} " + " ".join(f"{n}:{secs[n][-1]:.3f}" for n in names), file=sys.stderr, flush=True)
    base = secs[names[0]]
    return {n: {"p50_s": round(statistics.median(s), 4), "sum_s": round(sum(s), 3),
                "per_text_vs_unblocked_median": round(statistics.median(
                    x / y for x, y in zip(s, base, strict=True)), 3)}
            for n, s in secs.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--texts", type=int, default=80)
    p.add_argument("--quick", action="store_true", help="smoke run: 3 texts, 2 settings, a small DistilBERT")
    args = p.parse_args(argv)
    from bench.speed.explain_sampling import held_out_texts

    settings = (SETTINGS[0], SETTINGS[2]) if args.quick else SETTINGS
    texts = held_out_texts(EMOTION / "validation.txt", 3 if args.quick else args.texts)
    with tempfile.TemporaryDirectory(prefix="bench-blocks-") as tmp:
        model_dir = build_random_distilbert(Path(tmp) / "distilbert-small", **SMALL_DISTILBERT) if args.quick else \
            build_random_distilbert(Path(tmp) / "distilbert-random")
        settings_report = run(model_dir, texts, settings)
    print(json.dumps({"bench": "bf16_blocks", "texts": len(texts), "shape": SMALL_DISTILBERT if args.quick else "real",
                      "settings": settings_report}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
