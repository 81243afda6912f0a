"""What every signal family reads: the split's texts and labels, and the inputs shared between families.

:class:`SignalContext` makes the sentence embeddings and the spaCy parse once per split, on first use
(the embeddings cached on disk). :func:`family_params` is everything that shapes a family's values
apart from the data: its own parameters and the identity of the shared inputs it reads (the encoder,
the parser with its rules). Inputs that come with the data (the classifier's states and the
classifier) enter the key through :meth:`SignalContext.input_key`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import numpy as np

from core.analysis.signals.encoder import embed, encoder_params
from core.analysis.signals.parse import negation_parse, parse_params, parse_signals
from core.analysis.signals.registry import get, jsonable

#: Shared input -> what shapes it (the same for every split).
INPUT_PARAMS: dict[str, Callable[[], dict]] = {"embeddings": encoder_params, "parse": parse_params}


def family_params(name: str) -> dict:
    """JSON-able parameters of family ``name``: its own and those of the shared inputs it reads."""
    fam = get(name)
    inputs = {i: INPUT_PARAMS[i]() for i in fam.inputs if i in INPUT_PARAMS}
    return jsonable({"params": dict(fam.params()), **({"inputs": inputs} if inputs else {})})


def digest_parts(parts: list) -> str:
    """24 hex digits of the SHA-256 of ``parts`` (strings as they are, the rest as sorted JSON)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else json.dumps(jsonable(p), sort_keys=True, default=str).encode())
        h.update(b"\x00")
    return h.hexdigest()[:24]


class SignalContext:
    """The inputs of one split (``texts``, ``labels``, ``names``, ``y`` class ids, ``k`` classes, ``hidden``,
    ``classifier``, ``base_probs``), with :meth:`embeddings` and :meth:`parsed` made once, on first use."""

    def __init__(self, cache, data_key: list, *, texts: list[str], labels: list[str], names: list[str],
                 y: np.ndarray, hidden=None, classifier=None, base_probs=None, progress=None) -> None:
        self.cache, self.data_key = cache, data_key
        self.texts, self.labels, self.names, self.y, self.k = texts, labels, names, y, len(names)
        self.hidden, self.classifier, self.base_probs, self.progress = hidden, classifier, base_probs, progress
        self._emb: np.ndarray | None = None
        self._parsed: dict | None = None

    def embeddings(self) -> np.ndarray:
        """(N, 384) sentence-encoder embeddings of the texts, cached on disk under the encoder's identity."""
        if self._emb is None:
            key = digest_parts(["encoder", encoder_params(), self.data_key[0]])
            report = self.progress
            step = (lambda d, t: report("signals: sentence embeddings", d, t)) if report else None
            self._emb = self.cache.get(key, lambda: {"x": embed(self.texts, progress=step)})["x"]
        return self._emb

    def negation_parsed(self) -> np.ndarray:
        """``neg_parse``: from :meth:`parsed` where it was made already, else parsing only the rows it needs
        (:func:`core.analysis.signals.parse.negation_parse`)."""
        if self._parsed is not None:
            return self._parsed["neg_parse"]
        return negation_parse(self.texts, self.labels)

    def parsed(self) -> dict[str, np.ndarray]:
        """``neg_parse`` and ``cue_target`` from one spaCy pass (both parse families use it)."""
        if self._parsed is None:
            self._parsed = parse_signals(self.texts, self.labels)
        return self._parsed

    def input_key(self, name: str) -> list:
        """The parts of family ``name``'s cache key that come with this split's model inputs."""
        fam, extra = get(name), []
        if "classifier" in fam.inputs:
            extra.append(getattr(self.classifier, "fingerprint", None))
        if "hidden" in fam.inputs and self.hidden is not None:
            extra.append(hashlib.sha256(np.ascontiguousarray(self.hidden, dtype=np.float32).tobytes()).hexdigest())
        return extra
