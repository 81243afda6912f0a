"""The corpora and analyses of ``bench/scale/scale.py`` at N rows.

The corpus is the train split repeated, every copy after the first with seeded word-level edits (a
word dropped, doubled, swapped with its neighbour or replaced by a word from elsewhere in the split),
so the rows differ; it is written as ``<folder>/validation.txt``. Where precompute at an N does not
fit the time given, :func:`tile_analysis` repeats the largest measured analysis to N rows over the
edited corpus.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

#: The split every corpus is written as, and analysed as.
SPLIT = "validation"


def edit_words(text: str, rng: np.random.Generator, vocab: list[str]) -> str:
    """One to three seeded word-level edits: drop, double, swap with the next, or replace a word."""
    words = text.split()
    for _ in range(int(rng.integers(1, 4))):
        if not words:
            words = [vocab[int(rng.integers(len(vocab)))]]
            continue
        i = int(rng.integers(len(words)))
        kind = int(rng.integers(4))
        if kind == 0 and len(words) > 2:
            del words[i]
        elif kind == 1:
            words.insert(i, words[i])
        elif kind == 2 and i + 1 < len(words):
            words[i], words[i + 1] = words[i + 1], words[i]
        else:
            words[i] = vocab[int(rng.integers(len(vocab)))]
    return " ".join(words)


def synthetic_corpus(pairs: list[tuple[str, str]], n: int, *, seed: int = 0) -> list[tuple[str, str]]:
    """``n`` (text, label) rows: ``pairs`` repeated, copies after the first edited (seeded by copy)."""
    vocab = sorted({w for t, _ in pairs for w in t.split()})
    out = list(pairs[:n])
    copy = 1
    while len(out) < n:
        rng = np.random.default_rng([seed, copy])
        for text, label in pairs[: n - len(out)]:
            out.append((edit_words(text, rng, vocab), label))
        copy += 1
    return out


def write_corpus(rows: list[tuple[str, str]], folder: Path) -> Path:
    """The rows as ``folder/validation.txt`` (``text;label`` lines); reused when already written."""
    path = folder / f"{SPLIT}.txt"
    if not path.is_file() or sum(1 for _ in path.open()) != len(rows):
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{t};{lab}\n" for t, lab in rows), encoding="utf-8")
    return folder


def tile_analysis(source: Path, model: Path, data: Path, cache: Path, seed: int = 0) -> None:
    """Write a cache entry for ``data`` by tiling the analysis cached under ``source`` (see the module doc)."""
    import pandas as pd

    from core.analysis.cache import AnalysisCache, analysis_digest, cache_key
    from core.analysis.table import summary_metrics
    from core.classifier.backends import resolve
    from core.classifier.model import model_fingerprint, resolve_model_dir
    from core.data.keys import content_key, text_hashes
    from core.data.splits import data_fingerprint, load_splits
    from core.settings import Settings

    entry = next((source / "analysis").glob("*/meta.json")).parent
    table = pd.read_parquet(entry / "table.parquet")
    hidden = np.load(entry / "hidden.npy", allow_pickle=False)
    meta = json.loads((entry / "meta.json").read_text())
    corpus = load_splits(data, splits=(SPLIT,))
    n = len(corpus[SPLIT])
    take = np.arange(n) % len(table)
    rng = np.random.default_rng(seed)
    big = table.iloc[take].reset_index(drop=True)
    big["text"] = corpus[SPLIT].texts
    big["label"] = [corpus.label_names[i] for i in corpus[SPLIT].labels]
    for col in ("umap_x", "umap_y"):
        spread = float(big[col].std() or 1.0)
        big[col] = (big[col] + rng.normal(0, 0.02 * spread, n)).astype(np.float32)
    labels = meta["labels"]
    ids = np.array([labels.index(x) for x in big["label"]])
    preds = np.array([labels.index(x) for x in big["pred"]])
    big["correct"] = ids == preds
    model_fp = model_fingerprint(resolve_model_dir(model))
    data_fp = data_fingerprint(corpus, SPLIT)
    meta.update(summary_metrics(ids, preds, len(labels)), n_rows=n, data=str(data), data_fingerprint=data_fp,
                model_fingerprint=model_fp, analysis_params=analysis_digest(),
                tiled_from=f"{meta['n_rows']} rows of {meta['data']}")
    meta["review_key"] = content_key(text_hashes(big["text"].tolist()), SPLIT)
    backend = resolve(Settings().backend)[0]  # the app's default backend names the entry it looks for
    meta["backend"] = backend
    AnalysisCache(cache).save(cache_key(model_fp, data_fp, SPLIT, int(meta["max_length"]), backend),
                              big, hidden[take], meta)
