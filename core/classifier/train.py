"""Fine-tune a sequence classifier on the emotion data with the transformers Trainer.

Reference recipe (the defaults): ``distilbert-base-uncased``, lr 2e-5, batch 64, 2 epochs, seed 42,
AdamW, linear schedule, weight decay 0.01; reported validation accuracy 0.926, weighted F1 0.926.

Usage::

    python -m core.classifier.train --data ../shared/emotion --output-dir outputs/emotion-distilbert
    python -m core.classifier.train --base PATH --max-train-samples 640 --epochs 1   # a quick run
    python -m core.classifier.train ... --push-to-hub user/emotion-model             # the Trainer pushes to the Hub

Writes the model, its tokenizer and ``metrics.json`` (validation accuracy, weighted F1, precision,
recall, macro one-vs-rest ROC AUC, and two baselines: majority class, and logistic regression on the
frozen base encoder's [CLS] hidden states). :func:`fine_tune` and :func:`predict_probs` are the
recipe that ``core.analysis.crossval`` reuses for each fold.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.data.splits import DataError, EmotionData, load_splits

DEFAULT_BASE = "distilbert-base-uncased"
# The flags that define a fine-tuning recipe (shared with core.analysis.crossval, and part of its cache key).
RECIPE_FIELDS = ("lr", "batch_size", "epochs", "seed", "weight_decay", "warmup_steps", "max_length",
                 "freeze_layers")


def add_recipe_args(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The training-recipe flags, shared by ``core.classifier.train`` and ``core.analysis.crossval``."""
    p.add_argument("--base", default=DEFAULT_BASE, help="base checkpoint: Hub id or local folder")
    p.add_argument("--lr", type=float, default=2e-5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--epochs", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--max-length", type=int, default=128)
    p.add_argument("--freeze-layers", type=int, default=0,
                   help="freeze the embeddings and the first N transformer blocks (0: train everything)")
    p.add_argument("--max-train-samples", type=int, default=None)
    p.add_argument("--text-column", default=None, help="text column of CSV/parquet data (default: text)")
    p.add_argument("--label-column", default=None, help="label column of CSV/parquet data (default: label)")
    p.add_argument("--logging-steps", type=int, default=10)
    return p


def build_parser() -> argparse.ArgumentParser:
    """Every hyperparameter is a flag."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="dair-ai/emotion", help="Hub id or local folder with train/validation")
    p.add_argument("--output-dir", default="outputs/emotion-model")
    add_recipe_args(p)
    p.add_argument("--max-eval-samples", type=int, default=None)
    p.add_argument("--baseline-max-train", type=int, default=4000,
                   help="training rows for the logistic-regression baseline (encoding is the slow part)")
    p.add_argument("--no-baselines", action="store_true")
    p.add_argument("--push-to-hub", metavar="REPO", default=None,
                   help="push the model to this Hub repo (the Trainer's push_to_hub; needs a token and network)")
    return p


def recipe_of(args: argparse.Namespace) -> dict:
    """The recipe fields of parsed arguments, as a plain dict."""
    return {k: getattr(args, k) for k in RECIPE_FIELDS}


def load_data(source: str, splits: Sequence[str], *, text_column: str | None = None,
              label_column: str | None = None) -> EmotionData:
    """:func:`core.data.splits.load_splits`, passing the column names on where the loader takes them."""
    columns = {k: v for k, v in (("text_column", text_column), ("label_column", label_column)) if v}
    params = inspect.signature(load_splits).parameters
    unsupported = [k for k in columns if k not in params]
    if unsupported:
        raise DataError(f"--{unsupported[0].replace('_', '-')}: this version of core.data.splits "
                        "cannot rename columns; "
                        "name them 'text' and 'label'")
    return load_splits(source, splits=tuple(splits), **columns)


def freeze_layers(model, n: int) -> int:
    """Freeze the embeddings and the first ``n`` blocks (DistilBERT ``transformer.layer`` or BERT
    ``encoder.layer``); returns how many parameters were frozen."""
    if n <= 0:
        return 0
    base = model.base_model
    blocks = None
    for path in ("transformer.layer", "encoder.layer"):
        obj = base
        for part in path.split("."):
            obj = getattr(obj, part, None)
        if obj is not None:
            blocks = obj
            break
    if blocks is None:
        raise ValueError(f"{type(model).__name__}: cannot find its transformer blocks to freeze")
    if n > len(blocks):
        raise ValueError(f"--freeze-layers {n}: the model has only {len(blocks)} blocks")
    frozen = 0
    for module in [base.embeddings, *blocks[:n]]:
        for p in module.parameters():
            p.requires_grad = False
            frozen += p.numel()
    return frozen


def classification_metrics(labels: np.ndarray, probs: np.ndarray) -> dict[str, float]:
    """Accuracy, weighted F1/precision/recall and macro one-vs-rest ROC AUC over present classes."""
    from sklearn.metrics import roc_auc_score

    from core.classifier.metrics import confusion_counts, summary

    k = probs.shape[1]
    preds = probs.argmax(axis=1)
    s = summary(confusion_counts(labels, preds, k))
    # Macro one-vs-rest AUC over the classes present (a small sample may lack a rare class).
    aucs = [roc_auc_score(labels == c, probs[:, c]) for c in range(k) if 0 < (labels == c).sum() < len(labels)]
    auc = float(np.mean(aucs)) if aucs else float("nan")
    return {"accuracy": s["accuracy"], "f1_weighted": s["f1_weighted"], "precision_weighted": s["precision_weighted"],
            "recall_weighted": s["recall_weighted"], "roc_auc_ovr_macro": float(auc)}


def frozen_cls_features(base: str, texts: Sequence[str], n_labels: int, *, max_length: int) -> np.ndarray:
    """(N, H) [CLS] hidden states of the frozen base encoder (its classifier head is never read)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from core.classifier.model import Classifier

    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=n_labels, trust_remote_code=False)
    encoder = Classifier(model.eval(), AutoTokenizer.from_pretrained(base), [str(i) for i in range(n_labels)],
                         source=base, model_dir=Path(base), max_length=max_length)
    return encoder.predict(list(texts), with_hidden=True).hidden


def baselines(base: str, train_texts, train_labels, val_texts, val_labels, k: int, *, max_train: int,
              seed: int, max_length: int) -> dict[str, dict[str, float]]:
    """Majority class, and logistic regression on the frozen base encoder's [CLS] states."""
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression

    dummy = DummyClassifier(strategy="most_frequent").fit(np.zeros((len(train_labels), 1)), train_labels)
    majority = np.zeros((len(val_labels), k))
    majority[:, dummy.predict(np.zeros((1, 1)))[0]] = 1.0
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(train_texts))[:max_train]
    x_train = frozen_cls_features(base, [train_texts[i] for i in rows], k, max_length=max_length)
    x_val = frozen_cls_features(base, val_texts, k, max_length=max_length)
    logreg = LogisticRegression(max_iter=2000).fit(x_train, np.asarray(train_labels)[rows])
    probs = np.zeros((len(val_labels), k))
    probs[:, logreg.classes_] = logreg.predict_proba(x_val)
    return {"majority_class": classification_metrics(val_labels, majority),
            "logreg_frozen_cls": {**classification_metrics(val_labels, probs), "train_rows": int(len(rows))}}


def training_arguments(recipe: dict, output_dir: str | Path, *, logging_steps: int = 10,
                       push_to_hub: str | None = None, disable_tqdm: bool | None = None):
    """The Trainer's arguments for ``recipe`` (CPU, no evaluation or checkpoints during training).

    ``push_to_hub`` names a Hub repo: the Trainer's own ``push_to_hub``/``hub_model_id`` then upload
    the final model (``trainer.push_to_hub()``).
    """
    import torch
    from transformers import TrainingArguments

    hub = {"push_to_hub": True, "hub_model_id": push_to_hub, "hub_strategy": "end"} if push_to_hub else {}
    return TrainingArguments(
        output_dir=str(output_dir), learning_rate=recipe["lr"], per_device_train_batch_size=recipe["batch_size"],
        per_device_eval_batch_size=max(recipe["batch_size"], 64), num_train_epochs=recipe["epochs"],
        seed=recipe["seed"], weight_decay=recipe["weight_decay"], warmup_steps=recipe["warmup_steps"],
        lr_scheduler_type="linear", optim="adamw_torch", eval_strategy="no", save_strategy="no",
        logging_strategy="steps", logging_steps=logging_steps, logging_first_step=True, report_to="none",
        use_cpu=not torch.cuda.is_available(), train_sampling_strategy="group_by_length", dataloader_num_workers=0,
        disable_tqdm=disable_tqdm, **hub,
    )


def encode(tokenizer, texts: Sequence[str], labels: np.ndarray, max_length: int):
    """A tokenized ``datasets.Dataset`` (input ids and label) for the Trainer."""
    from datasets import Dataset

    ds = Dataset.from_dict({"text": list(texts), "label": np.asarray(labels).tolist()})
    return ds.map(lambda b: tokenizer(b["text"], truncation=True, max_length=max_length),
                  batched=True, remove_columns=["text"])


def fine_tune(base: str, texts: Sequence[str], labels: np.ndarray, names: Sequence[str], recipe: dict, *,
              output_dir: str | Path, logging_steps: int = 10, push_to_hub: str | None = None,
              disable_tqdm: bool | None = None):
    """Fine-tune ``base`` on ``texts``/``labels`` with ``recipe``; returns ``(trainer, tokenizer, frozen)``.

    The model is trained but not saved (the caller decides); ``frozen`` counts frozen parameters.
    """
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        set_seed,
    )

    set_seed(recipe["seed"])
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, num_labels=len(names), id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)}, trust_remote_code=False, dtype=torch.float32,
    )
    frozen = freeze_layers(model, recipe["freeze_layers"])
    # When pushing, the Trainer uploads its own output_dir, so that is the model folder itself.
    trainer_dir = Path(output_dir) if push_to_hub else Path(output_dir) / "checkpoints"
    targs = training_arguments(recipe, trainer_dir, logging_steps=logging_steps,
                               push_to_hub=push_to_hub, disable_tqdm=disable_tqdm)
    trainer = Trainer(model=model, args=targs, train_dataset=encode(tokenizer, texts, labels, recipe["max_length"]),
                      data_collator=DataCollatorWithPadding(tokenizer), processing_class=tokenizer)
    trainer.train()
    return trainer, tokenizer, frozen


def predict_probs(trainer, tokenizer, texts: Sequence[str], max_length: int) -> np.ndarray:
    """(N, K) softmax probabilities of the trained model on ``texts``, in the order of ``texts``.

    Not ``trainer.predict``: with ``train_sampling_strategy="group_by_length"`` transformers 5's
    Trainer also length-groups (and so re-orders) the evaluation batches, and its predictions no
    longer line up with the texts. :class:`core.classifier.model.Classifier` batches by length and puts every
    row back in place.
    """
    from core.classifier.model import Classifier

    model = trainer.model.eval()
    if not len(texts):
        return np.zeros((0, model.config.num_labels), dtype=np.float32)
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    clf = Classifier(model, tokenizer, labels, source="training", model_dir=Path("."), max_length=max_length)
    return clf.predict(list(texts)).probs


def subset_rows(n: int, max_samples: int | None, seed: int) -> np.ndarray:
    """Sorted row ids of a seeded random subset of ``max_samples`` rows (all rows when ``None``)."""
    if not max_samples or max_samples >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:max_samples])


def train(args: argparse.Namespace) -> dict:
    """Fine-tune, evaluate, save (and push when asked); returns the metrics written to ``metrics.json``."""
    data = load_data(args.data, ("train", "validation"), text_column=args.text_column,
                     label_column=args.label_column)
    names = data.label_names
    train_split, val_split = data["train"], data["validation"]
    train_rows = subset_rows(len(train_split), args.max_train_samples, args.seed)
    val_rows = np.arange(len(val_split))[: args.max_eval_samples or None]
    train_texts = [train_split.texts[i] for i in train_rows]
    train_labels = train_split.labels[train_rows]
    val_texts = [val_split.texts[i] for i in val_rows]
    val_labels = val_split.labels[val_rows]

    out_dir = Path(args.output_dir)
    recipe = recipe_of(args)
    start = time.perf_counter()
    trainer, tokenizer, frozen = fine_tune(args.base, train_texts, train_labels, names, recipe, output_dir=out_dir,
                                           logging_steps=args.logging_steps, push_to_hub=args.push_to_hub)
    seconds = time.perf_counter() - start
    probs = predict_probs(trainer, tokenizer, val_texts, args.max_length)
    metrics = classification_metrics(val_labels, probs)
    losses = [(h["step"], h["loss"]) for h in trainer.state.log_history if "loss" in h]
    result = {
        "validation": metrics,
        "recipe": {k: v for k, v in vars(args).items() if k not in {"data", "output_dir"}},
        "data": args.data, "labels": names, "train_rows": int(len(train_rows)), "validation_rows": int(len(val_rows)),
        "frozen_parameters": frozen, "train_seconds": round(seconds, 1),
        "train_loss_log": [{"step": int(s), "loss": float(v)} for s, v in losses],
    }
    if not args.no_baselines:
        result["baselines"] = baselines(args.base, train_texts, train_labels, val_texts, val_labels, len(names),
                                        max_train=args.baseline_max_train, seed=args.seed, max_length=args.max_length)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(result, indent=2))
    tokenizer.save_pretrained(str(out_dir))
    trainer.save_model(str(out_dir))  # with --push-to-hub the Trainer also uploads the folder here
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    args = build_parser().parse_args(argv)
    try:
        result = train(args)
    except (DataError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    v = result["validation"]
    print(f"validation accuracy {v['accuracy']:.4f}, weighted F1 {v['f1_weighted']:.4f}, "
          f"ROC AUC {v['roc_auc_ovr_macro']:.4f}; wrote {args.output_dir}/metrics.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
