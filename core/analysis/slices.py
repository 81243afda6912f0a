"""Error slices: groups of a split's rows where the model does clearly worse than on the rest.

Candidate slices (:func:`candidate_slices`), each at least ``min_size`` rows and at most
``max_share`` of the split:

- ``cluster``: k-means clusters of the unit-length [CLS] states (scikit-learn, seeded);
- ``word`` / ``phrase``: rows holding a word or a two-word phrase (after lower-casing and dropping
  punctuation), every one frequent enough: so the words that separate errors from correct rows are
  among them, and the test below decides which do;
- ``negation`` (:data:`NEGATIONS`), ``emoji`` (pictographs and ASCII emoticons), ``length``
  (quintiles of the word count).

For each candidate: size, accuracy, weighted F1, the rest's accuracy, the ``gap`` (rest minus slice)
and a one-sided Fisher exact test of more errors inside than outside (``scipy.stats.fisher_exact``),
its p-values corrected for the number of candidates tried by Benjamini-Hochberg
(``scipy.stats.false_discovery_control``). Slices are ranked by corrected p-value, then gap; a slice
with the same rows as a higher-ranked one is dropped. Each is named by its feature and its three most
distinguishing words (smoothed log-odds of being in a slice row against a rest row).

Usage::

    python -m core.analysis.slices --model M --data D [--split validation] [--top 5] [--json OUT] \
        [--plant-marker WORD --plant-share 0.05 --seed 0]

``--plant-marker`` checks the method: it adds the word to a random share of the rows, flips their labels
to another class, re-runs the model and reports where the planted slice ranks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

NEGATIONS = ("not", "no", "never", "nothing", "nobody", "none", "nor", "cannot", "without", "dont", "didnt",
             "doesnt", "isnt", "wasnt", "arent", "werent", "cant", "wont", "wouldnt", "couldnt", "shouldnt",
             "havent", "hasnt", "hadnt", "aint")
_NEGATION = re.compile(r"\b(" + "|".join(NEGATIONS) + r")\b|\b\w+n t\b|n't\b")
_EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]|[:;=]-?[()dpDP]")
_SIMPLICITY = {"word": 0, "negation": 1, "emoji": 1, "length": 1, "phrase": 2, "cluster": 3}
SLICE_COLUMNS = ("rank", "kind", "feature", "name", "size", "accuracy", "f1_weighted", "rest_accuracy", "gap",
                 "p_value", "p_adjusted", "significant", "sample_ids")


def _tokens(texts: Sequence[str]) -> list[str]:
    return [re.sub(r"[^0-9a-z']+", " ", str(t).lower()).strip() for t in texts]


def candidate_slices(texts: Sequence[str], hidden: np.ndarray | None, *, min_size: int = 20, max_share: float = 0.5,
                     n_clusters: int = 20, seed: int = 0) -> tuple[list[tuple[str, str]], np.ndarray]:
    """``(features, masks)``: ``(kind, feature)`` per candidate and a (C, N) boolean membership matrix."""
    from sklearn.feature_extraction.text import CountVectorizer

    n = len(texts)
    norm = _tokens(texts)
    feats: list[tuple[str, str]] = []
    masks: list[np.ndarray] = []

    def add(kind: str, feature: str, mask: np.ndarray) -> None:
        if min_size <= mask.sum() <= max_share * n:
            feats.append((kind, feature))
            masks.append(mask)

    if hidden is not None and n >= 2 * min_size:
        from sklearn.cluster import KMeans

        unit = np.asarray(hidden, dtype=np.float32)
        unit = unit / np.clip(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12, None)
        km = KMeans(n_clusters=min(n_clusters, n // min_size), n_init=3, random_state=seed).fit(unit)
        for c in range(km.n_clusters):
            add("cluster", f"cluster {c}", km.labels_ == c)
    try:
        vec = CountVectorizer(ngram_range=(1, 2), binary=True, min_df=min_size, token_pattern=r"(?u)\b[\w']+\b")
        x = vec.fit_transform(norm).tocsc()
        for j, term in enumerate(vec.get_feature_names_out()):
            col = np.zeros(n, dtype=bool)
            col[x.indices[x.indptr[j]:x.indptr[j + 1]]] = True
            add("phrase" if " " in term else "word", term, col)
    except ValueError:  # no term frequent enough
        pass
    add("negation", "negation", np.array([bool(_NEGATION.search(t)) for t in norm]))
    add("emoji", "emoji or emoticon", np.array([bool(_EMOJI.search(str(t))) for t in texts]))
    lengths = np.array([len(t.split()) for t in norm])
    edges = np.unique(np.quantile(lengths, [0, 0.2, 0.4, 0.6, 0.8, 1.0]))
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (lengths >= lo) & ((lengths < hi) | (hi == edges[-1]))
        add("length", f"{int(lo)}-{int(hi) - (hi != edges[-1])} words", inside)
    return feats, np.array(masks, dtype=bool).reshape(len(masks), n)


def _distinguishing(texts: Sequence[str], masks: np.ndarray, top: int = 3) -> list[list[str]]:
    """Per slice, the ``top`` words most over-represented in it (smoothed log-odds, at least 3 rows)."""
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(binary=True, min_df=3, token_pattern=r"(?u)\b[a-z']{2,}\b")
    try:
        x = vec.fit_transform(_tokens(texts))
    except ValueError:
        return [[] for _ in range(len(masks))]
    vocab = vec.get_feature_names_out()
    inside = (masks.astype(np.float32) @ x).astype(np.float64)  # (C, V) rows of the slice holding each word
    total = np.asarray(x.sum(axis=0), dtype=np.float64).ravel()
    size = masks.sum(axis=1, keepdims=True).astype(np.float64)
    rest = masks.shape[1] - size
    logodds = np.log((inside + 0.5) / (size - inside + 0.5)) - np.log((total - inside + 0.5) / (rest - total + inside
                                                                                               + 0.5))
    logodds[inside < 3] = -np.inf
    best = np.argsort(-logodds, axis=1, kind="stable")[:, :top]
    return [[vocab[j] for j in row if np.isfinite(logodds[i, j])] for i, row in enumerate(best)]


def find_slices(table: pd.DataFrame, hidden: np.ndarray | None, labels: Sequence[str], *, alpha: float = 0.05,
                min_size: int = 20, max_share: float = 0.5, n_clusters: int = 20, seed: int = 0) -> pd.DataFrame:
    """Every candidate slice of ``table`` (``text, label, pred``; row position = sample id), ranked
    (module docstring). Columns :data:`SLICE_COLUMNS`; ``significant``: corrected p below ``alpha``
    and the slice worse than the rest."""
    from scipy.stats import false_discovery_control, fisher_exact
    from sklearn.metrics import f1_score

    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    texts = table["text"].astype(str).tolist()
    y, p = table["label"].astype(str).to_numpy(), table["pred"].astype(str).to_numpy()
    wrong = y != p
    feats, masks = candidate_slices(texts, hidden, min_size=min_size, max_share=max_share, n_clusters=n_clusters,
                                    seed=seed)
    if not feats:
        return pd.DataFrame(columns=list(SLICE_COLUMNS))
    err_in = masks.astype(np.int64) @ wrong.astype(np.int64)
    size = masks.sum(axis=1)
    err_out, rest = wrong.sum() - err_in, len(y) - size
    pvals = np.array([fisher_exact([[e, s - e], [eo, r - eo]], alternative="greater").pvalue
                      for e, s, eo, r in zip(err_in, size, err_out, rest, strict=True)])
    adjusted = false_discovery_control(pvals, method="bh")
    acc, rest_acc = 1 - err_in / size, 1 - err_out / np.maximum(rest, 1)
    words = _distinguishing(texts, masks)
    frame = pd.DataFrame({
        "kind": [k for k, _ in feats], "feature": [f for _, f in feats],
        "name": [_name(k, f, w) for (k, f), w in zip(feats, words, strict=True)], "size": size,
        "accuracy": acc.round(4), "f1_weighted": [round(float(f1_score(y[m], p[m], labels=list(labels),
                                                                        average="weighted", zero_division=0)), 4)
                                                  for m in masks],
        "rest_accuracy": rest_acc.round(4), "gap": (rest_acc - acc).round(4), "p_value": pvals,
        "p_adjusted": adjusted, "significant": (adjusted < alpha) & (acc < rest_acc),
        "sample_ids": [np.flatnonzero(m).tolist() for m in masks],
    })
    frame["_key"] = [hash(np.flatnonzero(m).tobytes()) for m in masks]
    frame["_simple"] = frame["kind"].map(_SIMPLICITY)  # of slices with the same rows, the simplest feature stays
    frame = frame.sort_values(["p_adjusted", "gap", "size", "_simple"], ascending=[True, False, True, True],
                              kind="stable")
    frame = frame.drop_duplicates("_key").drop(columns=["_key", "_simple"]).reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame


def _name(kind: str, feature: str, words: list[str]) -> str:
    head = {"word": f'"{feature}"', "phrase": f'"{feature}"'}.get(kind, feature)
    rest = [w for w in words if w not in feature.split()]
    return head + (f" ({', '.join(rest)})" if rest else "")


def plant_marker(texts: Sequence[str], label_ids: np.ndarray, n_labels: int, *, marker: str, share: float = 0.05,
                 seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(texts, labels, planted)``: ``marker`` inserted at a random word position of a random ``share``
    of the rows, whose labels move to another class (seeded); ``planted``: their sample ids, sorted."""
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1), got {share}")
    rng = np.random.default_rng(seed)
    n = len(texts)
    planted = np.sort(rng.choice(n, size=max(1, round(share * n)), replace=False))
    texts, labels = list(texts), np.asarray(label_ids, dtype=np.int64).copy()
    for i in planted:
        words = texts[i].split()
        words.insert(int(rng.integers(0, len(words) + 1)), marker)
        texts[i] = " ".join(words)
        labels[i] = (labels[i] + int(rng.integers(1, n_labels))) % n_labels
    return texts, labels, planted


def _planted_table(classifier, texts: list[str], label_ids: np.ndarray, batch_size: int) -> tuple[pd.DataFrame,
                                                                                                   np.ndarray]:
    out = classifier.predict(texts, batch_size=batch_size, with_hidden=True)
    names = np.asarray(classifier.labels, dtype=object)
    return pd.DataFrame({"text": texts, "label": names[label_ids], "pred": names[out.probs.argmax(axis=1)]}), out.hidden


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exit 2 with one clear line on bad input."""
    import argparse
    import sys
    from pathlib import Path

    from core.analysis.precompute import analyse_split, remap_label_ids
    from core.classifier.model import ModelError, load_classifier
    from core.data.splits import DataError, load_splits
    from core.settings import Settings, default_cache_dir

    prog = None if sys.argv[0].startswith("emotion-lens") else "python -m core.analysis.slices"  # emotion-lens: argv[0]
    ap = argparse.ArgumentParser(prog=prog, description="Error slices of one split.")
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="validation")
    ap.add_argument("--top", type=int, default=5)
    ap.add_argument("--min-size", type=int, default=20)
    ap.add_argument("--json", default=None)
    ap.add_argument("--cache-dir", default=str(default_cache_dir()))
    ap.add_argument("--backend", default=Settings().backend, help="inference backend (as for the analysis cache)")
    ap.add_argument("--plant-marker", default=None, help="add this word to a share of rows and flip their labels")
    ap.add_argument("--plant-share", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        data = load_splits(args.data, splits=(args.split,))
        clf = load_classifier(args.model, data_labels=data.label_names, label_origin=data.label_origin,
                              backend=args.backend, cache_dir=args.cache_dir)
        if args.plant_marker:
            ids = remap_label_ids(data, args.split, clf.labels)
            texts, ids, planted = plant_marker(data[args.split].texts, ids, len(clf.labels), marker=args.plant_marker,
                                               share=args.plant_share, seed=args.seed)
            table, hidden = _planted_table(clf, texts, ids, 64)
        else:
            a = analyse_split(clf, data, args.split, cache_dir=args.cache_dir).analysis
            table, hidden = a.table, a.hidden
        slices = find_slices(table, hidden, clf.labels, min_size=args.min_size, seed=args.seed)
    except (DataError, ModelError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    acc = float((table["label"] == table["pred"]).mean())
    print(f"{args.split}: {len(table)} rows, accuracy {acc:.4f}; {len(slices)} candidate slices, "
          f"{int(slices['significant'].sum())} significant (Benjamini-Hochberg, 0.05)")
    cols = ["rank", "kind", "name", "size", "accuracy", "f1_weighted", "gap", "p_adjusted"]
    print(slices[cols].head(args.top).to_string(index=False, max_colwidth=60))
    if args.plant_marker:
        hit = slices.index[slices["sample_ids"].map(lambda s: s == planted.tolist())].tolist()
        where = f"rank {int(slices['rank'].iloc[hit[0]])}" if hit else "not found"
        print(f"planted slice ({len(planted)} rows with {args.plant_marker!r}, labels flipped): {where}")
    if args.json:
        Path(args.json).write_text(slices.to_json(orient="records", indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
