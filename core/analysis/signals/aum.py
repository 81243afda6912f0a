"""Training dynamics: the area under the margin (AUM, Pleiss et al. 2020) of a cheap model.

A linear softmax head is trained on frozen embeddings (the sentence encoder's, which never saw the
labels) with full-batch Adam, seeded, for :data:`EPOCHS` epochs; after each epoch every row's margin
``logit(given) - max other logit`` is recorded. A row whose label the head fits late or never (its
margin stays low) has a low AUM. Column ``aum`` = minus the mean margin (higher = more suspect).
"""

from __future__ import annotations

import numpy as np

from core.analysis.signals.registry import SignalFamily, register

EPOCHS, STEPS_PER_EPOCH, LR, SEED = 20, 5, 0.05, 0


def aum_scores(embeddings: np.ndarray, label_ids: np.ndarray, k: int) -> np.ndarray:
    """(N,) minus the area under the margin of a linear head trained on ``embeddings`` (module docstring)."""
    import torch

    x = torch.as_tensor(np.asarray(embeddings, dtype=np.float32))
    y = torch.as_tensor(np.asarray(label_ids, dtype=np.int64))
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{x.shape[0]} embeddings but {y.shape[0]} labels")
    gen = torch.Generator().manual_seed(SEED)
    head = torch.nn.Linear(x.shape[1], k)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=gen) * 0.01)
        head.bias.zero_()
    opt = torch.optim.Adam(head.parameters(), lr=LR)
    rows = torch.arange(len(y))
    total = torch.zeros(len(y), dtype=torch.float64)
    for _ in range(EPOCHS):
        for _ in range(STEPS_PER_EPOCH):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(head(x), y).backward()
            opt.step()
        with torch.no_grad():
            logits = head(x)
            given = logits[rows, y].clone()
            logits[rows, y] = -torch.inf
            total += (given - logits.max(dim=1).values).double()
    return (-(total / EPOCHS)).numpy().astype(np.float32)


FAMILY = register(SignalFamily(
    name="aum", title="area under the margin", compute=lambda ctx: {"aum": aum_scores(ctx.embeddings(), ctx.y, ctx.k)},
    params=lambda: {"epochs": EPOCHS, "steps": STEPS_PER_EPOCH, "lr": LR, "seed": SEED}, inputs=("embeddings",),
    columns={"aum": "low margin while learning"}))
