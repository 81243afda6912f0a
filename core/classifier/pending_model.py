"""A classifier that loads after the app has started serving its cached analyses.

Importing torch and transformers, reading the weights and checking the inference backend take 4-7 s
on a 2-core CPU, yet a cached analysis needs only facts that the model folder's ``config.json``
gives: the label names, the tokens kept per text, the content fingerprint and the backend asked
for. :func:`pending_classifier` checks those up front (a bad folder fails at once, as before) and
defers the load itself to :meth:`PendingClassifier.loaded`: the first use of anything else
(``predict``, ``tokenizer``, ...) or the app's own call once the first page is served.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from core.classifier.backends import BACKENDS, resolve
from core.classifier.model import (
    Classifier,
    ModelError,
    align_labels,
    load_classifier,
    model_fingerprint,
    read_classifier_config,
)


class PendingClassifier:
    """Stands in for a :class:`core.classifier.model.Classifier` until it is loaded; then delegates to it.

    ``labels``, ``source``, ``model_dir``, ``max_length``, ``fingerprint`` and ``backend_name`` are
    known without loading; any other attribute loads the model first (once, thread-safe).
    """

    def __init__(self, loader: Callable[[], Classifier], *, labels: Sequence[str], source: str, model_dir: Path,
                 max_length: int, backend_name: str) -> None:
        self._loader = loader
        self._lock = threading.Lock()
        self._classifier: Classifier | None = None
        self.labels = list(labels)
        self.source = source
        self.model_dir = model_dir
        self.max_length = max_length
        self.backend_name = backend_name
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        """See :func:`core.classifier.model.model_fingerprint`."""
        if self._fingerprint is None:
            self._fingerprint = model_fingerprint(self.model_dir)
        return self._fingerprint

    @property
    def is_loaded(self) -> bool:
        """Whether the model has been loaded."""
        return self._classifier is not None

    def loaded(self) -> Classifier:
        """The loaded classifier (loading it now if needed).

        Raises
        ------
        ModelError : the weights could not be read, or they disagree with ``config.json``'s facts.
        """
        with self._lock:
            if self._classifier is None:
                clf = self._loader()
                if list(clf.labels) != self.labels or clf.max_length != self.max_length:
                    raise ModelError(f"{self.source}: the loaded model's labels {clf.labels} or max length "
                                     f"{clf.max_length} differ from its config's ({self.labels}, {self.max_length})")
                self._classifier = clf
            return self._classifier

    def __getattr__(self, name: str):
        if name.startswith("_"):  # not set yet (copy, pickle): never load for these
            raise AttributeError(name)
        return getattr(self.loaded(), name)


def config_labels(config: dict) -> list[str]:
    """Label names in output order, as ``transformers`` reads them from a config's JSON."""
    id2label = config.get("id2label")
    if isinstance(id2label, dict) and id2label:
        return [str(id2label[str(i)] if str(i) in id2label else id2label[i]) for i in range(len(id2label))]
    return [f"LABEL_{i}" for i in range(int(config.get("num_labels", 2)))]


def pending_classifier(
    ref: str | Path, *, data_labels: Sequence[str] | None = None, max_length: int = 512,
    label_origin: Callable[[str], str] | None = None, backend: str = "torch", cache_dir: Path | str | None = None,
) -> PendingClassifier:
    """A :class:`PendingClassifier` for :func:`core.classifier.model.load_classifier` with these arguments.

    Raises
    ------
    ModelError : as :func:`core.classifier.model.load_classifier` does for a missing folder, config or weights,
        a checkpoint that is not a sequence classifier, disagreeing labels or an unknown backend.
    """
    if backend not in BACKENDS:
        raise ModelError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    model_dir, config = read_classifier_config(ref)
    try:
        labels = config_labels(config)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{model_dir / 'config.json'}: unreadable id2label ({exc})") from None
    if data_labels is not None:
        labels = align_labels(labels, data_labels, origin=label_origin)
    positions = config.get("max_position_embeddings", max_length)
    loader = partial(load_classifier, ref, data_labels=data_labels, max_length=max_length,
                     label_origin=label_origin, backend=backend, cache_dir=cache_dir)
    return PendingClassifier(loader, labels=labels, source=str(ref), model_dir=model_dir,
                             max_length=min(max_length, int(positions)), backend_name=resolve(backend)[0])
