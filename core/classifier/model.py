"""Load a fine-tuned sequence classifier and run batched inference (probabilities + [CLS] states).

Models load by local folder or Hub id, in float32 on the CPU, and never with ``trust_remote_code``.
The forward pass runs on an inference backend (:mod:`core.classifier.backends`: PyTorch fp32 or bf16, ONNX
Runtime fp32 or int8), chosen by ``load_classifier(..., backend=...)``.

Example
-------
>>> clf = load_classifier("../shared/models/emotion-minilm")            # doctest: +SKIP
>>> out = clf.predict(["i feel great"], with_hidden=True)              # doctest: +SKIP
>>> out.probs.shape, out.hidden.shape                                  # doctest: +SKIP
((1, 6), (1, 384))
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.classifier.backends import BACKENDS, Backend, TorchBackend, load_backend
from core.classifier.cls_only import restrict_last_layer_to_cls

WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
#: A forward pass costs about as much as this many extra padded tokens before it reads any token
#: (weights streamed from memory, per-layer dispatch). Measured on a 2-core CPU with
#: ``bench/speed/classify_api.py``'s texts: 12 ms + 0.31 ms/token for emotion-minilm and
#: 37 ms + 1.17 ms/token at DistilBERT size, both about 32-40 tokens.
FORWARD_OVERHEAD_TOKENS = 32
#: The same for a bulk pass over a split (the analysis), where nearly every batch shape is new and
#: each new shape first costs a kernel set-up (oneDNN, with bf16). Chosen on the first 2,000 train
#: texts with emotion-minilm bf16, cold, fresh processes: 40 batches at 32 tokens took 3.1 s (median
#: of 7), 11 batches at 512 took 2.3 s (4 of 4 runs faster than 32); reported on the validation split
#: by ``bench/speed/analysis.py``.
BULK_OVERHEAD_TOKENS = 512
#: Rows per forward pass in batch inference (the analysis): fewer, larger passes. With bf16 every new
#: batch shape costs oneDNN a kernel set-up the first time; the cold 2,000-row emotion-minilm analysis
#: spent 3.65 s in inference at 64 rows and 3.17 s at 256 (bench/speed/analysis.py); warm, both take 2.2 s.
DEFAULT_BATCH_SIZE = 256
#: Most padded tokens in one forward pass, so long texts come in smaller batches (64 x 512 tokens, the
#: largest batch of the former default of 64 rows): memory stays bounded whatever the text lengths.
MAX_BATCH_TOKENS = 32_768
GENERIC_LABEL = re.compile(r"^LABEL_\d+$")
_SAMPLE_BYTES = 4 * 2**20


def length_batches(lengths: Sequence[int] | np.ndarray, batch_size: int, *,
                   overhead_tokens: int = FORWARD_OVERHEAD_TOKENS,
                   max_tokens: int = MAX_BATCH_TOKENS) -> list[np.ndarray]:
    """Split rows into padded batches, longest first, at the least estimated cost.

    Rows are ordered by length (longest first) and cut into runs of at most ``batch_size`` rows and
    ``max_tokens`` padded tokens (a single longer row still gets its own batch); the cuts
    minimise ``batches * overhead_tokens + padded tokens`` (dynamic programming), so a short text
    that arrives with a long one is not padded to its length when a second forward is cheaper.

    >>> [b.tolist() for b in length_batches([60, 8, 9, 7], batch_size=4)]
    [[0], [2, 1, 3]]
    >>> [b.tolist() for b in length_batches([10, 9, 10, 9], batch_size=4)]
    [[0, 2, 1, 3]]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    width = lengths[order]
    n = len(width)
    best = np.zeros(n + 1)  # best[j]: least cost of the first j rows
    start = np.zeros(n + 1, dtype=np.int64)
    for j in range(1, n + 1):
        i = np.arange(max(0, j - batch_size), j)
        i = i[((j - i) * width[i] <= max_tokens) | (i == j - 1)]
        cost = best[i] + overhead_tokens + (j - i) * width[i]
        k = int(np.argmin(cost))
        best[j], start[j] = cost[k], i[k]
    cuts = []
    j = n
    while j > 0:
        cuts.append((int(start[j]), j))
        j = int(start[j])
    return [order[a:b] for a, b in reversed(cuts)]


class ModelError(ValueError):
    """A model that cannot be used; the message says what failed and what to pass instead."""


@dataclass
class Prediction:
    """Model outputs for N texts, in input order.

    Attributes
    ----------
    probs : (N, K) float32, softmax probabilities, columns in label order.
    logits : (N, K) float32.
    hidden : (N, H) float32 final-layer [CLS] hidden states, or ``None`` when not asked for.
    n_tokens : (N,) tokens per text including special tokens, after truncation.
    truncated : (N,) bool, whether a text was cut to the model's ``max_length``.
    """

    probs: np.ndarray
    logits: np.ndarray
    hidden: np.ndarray | None
    n_tokens: np.ndarray
    truncated: np.ndarray


def resolve_model_dir(ref: str | Path) -> Path:
    """A local folder holding the model: ``ref`` itself, or a Hub snapshot downloaded into the HF cache."""
    path = Path(ref).expanduser()
    if path.exists():
        if not path.is_dir() or not (path / "config.json").is_file():
            raise ModelError(f"{path}: not a model folder (no config.json)")
        return path
    looks_local = str(ref).startswith((".", "/", "~")) or str(ref).count("/") > 1
    if looks_local:
        raise ModelError(f"{ref}: no such model folder")
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(str(ref), allow_patterns=["*.json", "*.txt", "*.safetensors", "*.model"]))
    except Exception as exc:
        raise ModelError(
            f"could not download the model {ref!r} from the Hugging Face Hub "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}). "
            "Without internet, pass a local model folder, e.g. --model ../shared/models/emotion-minilm"
        ) from None


def model_fingerprint(model_dir: Path) -> str:
    """A content hash of a model folder: config and tokenizer in full, weights sampled.

    Weight files are hashed by size plus their first, middle and last 4 MiB, so checking a cache
    costs milliseconds even for large models; any retraining changes these bytes in practice.
    """
    h = hashlib.sha256()
    for path in sorted(model_dir.iterdir()):
        if not path.is_file():
            continue
        h.update(path.name.encode())
        size = path.stat().st_size
        h.update(str(size).encode())
        with path.open("rb") as f:
            if size <= 3 * _SAMPLE_BYTES:
                h.update(f.read())
            else:
                for offset in (0, size // 2, size - _SAMPLE_BYTES):
                    f.seek(offset)
                    h.update(f.read(_SAMPLE_BYTES))
    return h.hexdigest()[:16]


def is_generic(labels: Sequence[str]) -> bool:
    """True when labels are the config defaults ``LABEL_0 .. LABEL_N``."""
    return all(GENERIC_LABEL.match(str(x)) for x in labels)


def align_labels(
    model_labels: Sequence[str], data_labels: Sequence[str], *, origin: Callable[[str], str] | None = None
) -> list[str]:
    """The label names to use: the model's, or the data's where the model only says ``LABEL_i``.

    A split may use a subset of the model's labels (a small sample may lack a rare class).
    ``origin(name)`` says where a data label occurs (file and line), for the error message.

    Raises
    ------
    ModelError : the data has labels the model does not know; the message lists both sets.
    """
    model_labels, data_labels = list(model_labels), list(data_labels)
    if is_generic(model_labels):
        if len(model_labels) != len(data_labels):
            raise ModelError(
                f"the model has {len(model_labels)} outputs ({model_labels}) but the data has "
                f"{len(data_labels)} labels ({data_labels})"
            )
        return data_labels
    if not set(data_labels) <= set(model_labels) and not all(x.isdigit() for x in data_labels):
        unknown = [x for x in data_labels if x not in set(model_labels)]
        where = "".join(f"; {x!r} is on {origin(x)}" for x in unknown[:5]) if origin is not None else ""
        raise ModelError(
            f"the model's labels {model_labels} and the data's labels {data_labels} disagree{where}; "
            "use a model fine-tuned on this data"
        )
    return model_labels


def _check_weights(model_dir: Path) -> None:
    if not any((model_dir / name).is_file() for name in WEIGHT_FILES) and not list(
        model_dir.glob("model-*.safetensors")
    ):
        raise ModelError(f"{model_dir}: no weights (expected model.safetensors); is the download complete?")


def read_classifier_config(ref: str | Path) -> tuple[Path, dict]:
    """The model folder and its ``config.json``, checked to be a sequence classifier with weights.

    Raises
    ------
    ModelError : missing folder, config or weights, or a checkpoint that is not a sequence classifier.
    """
    model_dir = resolve_model_dir(ref)
    try:
        config_data = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"{model_dir / 'config.json'}: not a readable JSON config ({exc})") from None
    if not isinstance(config_data, dict):
        raise ModelError(f"{model_dir / 'config.json'}: not a model config (a JSON object)")
    archs = config_data.get("architectures") or []
    if archs and not any(a.endswith("ForSequenceClassification") for a in archs):
        raise ModelError(
            f"{ref}: a {', '.join(archs)} checkpoint, not a sequence classifier; "
            "fine-tune it first with `python -m core.classifier.train --base ...`"
        )
    _check_weights(model_dir)
    return model_dir, config_data


class Classifier:
    """A sequence classifier with its tokenizer and label names, ready for batched CPU inference.

    ``backend`` runs the forward pass (default: PyTorch fp32 on ``model``); ``backend_note`` says
    which backend serves and, after a fallback, why.  ``model`` stays the PyTorch model.
    """

    def __init__(self, model, tokenizer, labels: Sequence[str], *, source: str, model_dir: Path,
                 max_length: int = 512, backend: Backend | None = None, backend_note: str = "") -> None:
        self.model = model
        self.backend = backend if backend is not None else TorchBackend(model)
        self.backend_note = backend_note or f"backend {self.backend.name}"
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.source = source
        self.model_dir = model_dir
        self.max_length = min(max_length, int(getattr(model.config, "max_position_embeddings", max_length)))

    @property
    def fingerprint(self) -> str:
        """See :func:`model_fingerprint`."""
        return model_fingerprint(self.model_dir)

    @property
    def backend_name(self) -> str:
        """The backend that runs the forward pass (``torch``, ``torch-bf16``, ...)."""
        return self.backend.name

    def tokenize(self, texts: Sequence[str]) -> tuple[list[list[int]], np.ndarray]:
        """Token ids with special tokens, cut to ``max_length`` (keeping the final [SEP]).

        Returns the ids and an (N,) bool array saying which texts were cut.
        """
        ids = self.tokenizer(list(texts), return_attention_mask=False, return_token_type_ids=False)["input_ids"]
        cut = np.array([len(x) > self.max_length for x in ids], dtype=bool)
        ids = [x[: self.max_length - 1] + x[-1:] if c else x for x, c in zip(ids, cut, strict=True)]
        return ids, cut

    def predict(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        with_hidden: bool = False,
        progress: Callable[[int, int], None] | None = None,
        overhead_tokens: int = FORWARD_OVERHEAD_TOKENS,
    ) -> Prediction:
        """Classify texts in batches of similar length (:func:`length_batches`), padded per batch.

        Probabilities and [CLS] states come from the same forward pass of :attr:`backend`.
        ``progress(done, total)`` is called after every batch. ``overhead_tokens``: what one more
        forward pass costs, in padded tokens (:data:`BULK_OVERHEAD_TOKENS` for a whole split).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        texts = list(texts)
        n = len(texts)
        ids, cut = self.tokenize(texts) if n else ([], np.zeros(0, dtype=bool))
        lengths = np.array([len(x) for x in ids], dtype=np.int64)
        k = len(self.labels)
        logits = np.zeros((n, k), dtype=np.float32)
        hidden = None
        pad = self.tokenizer.pad_token_id or 0
        done = 0
        for rows in length_batches(lengths, batch_size, overhead_tokens=overhead_tokens):
            width = int(lengths[rows].max())
            input_ids = np.full((len(rows), width), pad, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for j, r in enumerate(rows):
                input_ids[j, : lengths[r]] = ids[r]
                mask[j, : lengths[r]] = 1
            batch_logits, cls = self.backend.forward(input_ids, mask, with_hidden=with_hidden)
            logits[rows] = batch_logits
            if with_hidden:
                if hidden is None:
                    hidden = np.zeros((n, cls.shape[1]), dtype=np.float32)
                hidden[rows] = cls
            done += len(rows)
            if progress is not None:
                progress(done, n)
        if with_hidden and hidden is None:
            hidden = np.zeros((0, int(self.model.config.hidden_size)), dtype=np.float32)
        shifted = logits - logits.max(axis=1, keepdims=True) if n else logits
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True) if n else 1
        return Prediction(probs.astype(np.float32), logits, hidden, lengths, cut)


def _load_weights(ref: str | Path, model_dir: Path) -> tuple[Any, Any]:
    """(model, tokenizer) from ``model_dir`` in float32; :class:`ModelError` for unreadable weights or a
    checkpoint whose classification head is missing (it would be random)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=False)
        model, info = AutoModelForSequenceClassification.from_pretrained(
            model_dir, trust_remote_code=False, dtype=torch.float32, output_loading_info=True
        )
    except Exception as exc:  # truncated or foreign weights raise SafetensorError, RuntimeError, ...
        raise ModelError(f"{ref}: could not load ({type(exc).__name__}: {str(exc)[:300]})") from None
    missing = sorted(info.get("missing_keys") or [])
    if missing:
        raise ModelError(
            f"{ref}: the checkpoint lacks {', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}, so it is "
            "not a fine-tuned sequence classifier (those weights would be random); fine-tune it first with "
            "`python -m core.classifier.train --base ...`"
        )
    return model, tokenizer


def load_classifier(
    ref: str | Path, *, data_labels: Sequence[str] | None = None, max_length: int = 512,
    label_origin: Callable[[str], str] | None = None, backend: str = "torch", cache_dir: Path | str | None = None,
    calibration_texts: Sequence[str] | None = None,
) -> Classifier:
    """Load a fine-tuned sequence classifier by Hub id or local folder (float32, CPU, eval mode).

    Where the layout allows it, the last encoder layer then runs after attention at [CLS] only
    (:func:`core.classifier.cls_only.restrict_last_layer_to_cls`): same logits and [CLS] states, less work.
    The forward pass then runs on ``backend`` (:func:`core.classifier.backends.load_backend`): checked against
    PyTorch fp32 on a probe batch, and ``torch`` with one logged warning when it fails or cannot load.

    Parameters
    ----------
    ref : Hub id (``bhadresh-savani/distilbert-base-uncased-emotion``) or a local folder.
    data_labels : the dataset's label names; used where the config only says ``LABEL_i``, and
        checked against the model's names otherwise.
    label_origin : where a data label occurs (``EmotionData.label_origin``), named in the error.
    backend : one of :data:`core.classifier.backends.BACKENDS` (``torch``, ``torch-bf16``, ``onnx``, ``onnx-int8``,
        ``onnx-int8-static``).
    cache_dir : where exported ONNX graphs are cached (``<cache_dir>/backends``); default
        :func:`core.settings.default_cache_dir`.
    calibration_texts : texts that calibrate ``onnx-int8-static`` (a few hundred training texts).

    Raises
    ------
    ModelError : missing folder or weights, a checkpoint that is not a sequence classifier, label
        sets that disagree, a Hub download that failed, or an unknown backend name.
    """
    if backend not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    model_dir, _ = read_classifier_config(ref)
    model, tokenizer = _load_weights(ref, model_dir)
    model.eval()
    restrict_last_layer_to_cls(model)  # same logits, about 10% less work per forward
    labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
    if data_labels is not None:
        labels = align_labels(labels, data_labels, origin=label_origin)
    if cache_dir is None:
        from core.settings import default_cache_dir

        cache_dir = default_cache_dir()
    engine, note = load_backend(backend, model, tokenizer, cache_dir=Path(cache_dir),
                                fingerprint=model_fingerprint(model_dir) if backend != "torch" else "",
                                calibration_texts=calibration_texts)
    model.inference_backend = engine  # TokenShapExplainer(classifier.model, ...) runs its evaluations on it
    return Classifier(model, tokenizer, labels, source=str(ref), model_dir=model_dir, max_length=max_length,
                      backend=engine, backend_note=note)
