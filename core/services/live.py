"""The live service: classify, explain and probe texts a person types.

It holds the loaded classifiers (roles ``model`` and ``compare``) and nothing about the analysed
tables. Its locks are its own: classification takes no lock at all (the micro-batcher is built with
the service), and the explainer lock is held only while an explainer is built, so a live request
never waits on calibration, compare or robustness work of the other services.

Example
-------
>>> live = LiveService({"model": clf}, settings=Settings())   # doctest: +SKIP
>>> live.classify_one("i love my new phone").label             # doctest: +SKIP
'joy'
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.classifier.batcher import MicroBatcher
from core.classifier.model import Classifier
from core.data.text_input import CleanText, InputError, clean_text
from core.explanation.words import Explanation, explanation_from_attribution
from core.settings import Settings

__all__ = ["Classification", "InputError", "LiveService", "MAX_LIVE_BATCH"]

#: The most texts one forward pass of :meth:`LiveService.classify_one` gathers.
MAX_LIVE_BATCH = 32


@dataclass
class Classification:
    """The model's answer for one text."""

    text: str
    label: str
    probs: dict[str, float]
    n_tokens: int
    notes: list[str] = field(default_factory=list)


class LiveService:
    """Classify, explain and probe texts with the loaded classifiers.

    Parameters
    ----------
    classifiers : ``{role: Classifier}``; ``"model"`` is the served one, ``"compare"`` optional.
    settings : the app's settings (``explain_max_tokens`` is read).
    """

    def __init__(self, classifiers: Mapping[str, Classifier], *, settings: Settings) -> None:
        self.classifiers = dict(classifiers)
        self.settings = settings
        self.batcher: MicroBatcher[CleanText, Classification] = MicroBatcher(self._classify_clean,
                                                                              max_batch=MAX_LIVE_BATCH)
        self._explainers: dict[str, object] = {}
        self._explainer_lock = threading.Lock()

    @property
    def classifier(self) -> Classifier:
        """The served model."""
        return self.classifiers["model"]

    @property
    def labels(self) -> list[str]:
        """Label names in model order."""
        return list(self.classifier.labels)

    def _role(self, role: str) -> Classifier:
        if role not in self.classifiers:
            raise InputError(f"no {role!r} model loaded; loaded: {sorted(self.classifiers)}")
        return self.classifiers[role]

    # ---- classify ---------------------------------------------------------------------------

    def classify(self, texts: Sequence[str]) -> list[Classification]:
        """Classify texts in one batch. Raises :class:`InputError` if any text is unusable."""
        cleaned = [clean_text(t) for t in texts]
        return self._classify_clean(cleaned) if cleaned else []

    def classify_one(self, text: str) -> Classification:
        """Classify one text; concurrent callers are batched together into one forward pass.

        Raises :class:`InputError` for unusable text (before it reaches the batch). Takes no lock.
        """
        return self.batcher.submit(clean_text(text))

    def _classify_clean(self, cleaned: list[CleanText]) -> list[Classification]:
        clf = self.classifier
        labels = self.labels
        pred = clf.predict([c.text for c in cleaned], batch_size=max(1, len(cleaned)))
        out = []
        for c, p, n, cut in zip(cleaned, pred.probs, pred.n_tokens, pred.truncated, strict=True):
            notes = list(c.notes)
            if cut:
                notes.append(f"the model read only the first {clf.max_length} tokens")
            probs = {name: float(v) for name, v in zip(labels, p, strict=True)}
            out.append(Classification(c.text, labels[int(np.argmax(p))], probs, int(n), notes))
        return out

    # ---- explain ----------------------------------------------------------------------------

    def explainer_for(self, role: str = "model"):
        """The SHAP explainer of the model in ``role`` (built on first use, once)."""
        clf = self._role(role)
        with self._explainer_lock:
            if role not in self._explainers:
                from core.explanation.explain import TokenShapExplainer

                # never more tokens than the model has positions for (less [CLS] and [SEP])
                max_tokens = max(1, min(self.settings.explain_max_tokens, clf.max_length - 2))
                self._explainers[role] = TokenShapExplainer(clf.model, clf.tokenizer, list(clf.labels),
                                                            max_tokens=max_tokens)
            return self._explainers[role]

    def explain(self, text: str, *, target: str | None = None, role: str = "model",
                faithful: bool = False) -> Explanation:
        """SHAP attributions of ``text`` toward ``target`` (default: the predicted label).

        A caller pays only for what it asks: only with ``faithful`` does the explanation carry its
        comprehensiveness and sufficiency (:mod:`core.explanation.faithfulness`: one more batched forward
        pass of about ten edited texts); without it ``faithfulness`` is ``None``. Asking again with
        ``faithful`` after a plain call costs only that pass (the attribution is cached).

        Raises :class:`InputError` for an unknown target or a text the tokenizer finds no words in.
        """
        if target is not None and target not in self.labels:
            raise InputError(f"unknown label {target!r}; choose one of {self.labels}")
        c = clean_text(text)
        clf = self._role(role)
        if not clf.tokenizer(c.text, add_special_tokens=False)["input_ids"]:
            raise InputError("Nothing to explain: the tokenizer finds no words in this text "
                             "(only invisible or unsupported characters).")
        explainer = self.explainer_for(role)
        att = explainer.explain(c.text)
        notes = list(c.notes)
        if att.truncated:
            notes.append(f"explained the first {explainer.max_tokens} tokens only")
        exp = explanation_from_attribution(att, clf.tokenizer, target=target, notes=notes)
        if not faithful:
            return exp
        from core.explanation.faithfulness import one_pass, with_faithfulness

        return with_faithfulness(exp, one_pass(clf))

    # ---- what-if probes ---------------------------------------------------------------------

    def _top_word_span(self, text: str, role: str) -> tuple[int, int] | None:
        """Character span of the word with the largest attribution toward the prediction, if any."""
        try:
            exp = self.explain(text, role=role)
        except InputError:
            return None
        ranked = exp.explained_words()
        if not ranked:
            return None
        column = exp.labels.index(exp.predicted)
        best = max(ranked, key=lambda i: abs(exp.word_values[i, column]))
        return exp.words[best].start, exp.words[best].end

    def probe(self, text: str, *, seed: int = 0, role: str = "model", top_word: bool = True):
        """What-if edits of ``text`` classified in one batched forward pass
        (:func:`core.explanation.probe.probe`).

        With ``top_word`` the word with the largest attribution toward the predicted class is
        removed as one more edit (its explanation comes from the explainer's cache when the text
        was just explained). Raises :class:`InputError` for unusable text.
        """
        from core.explanation.probe import probe

        c = clean_text(text)
        clf = self._role(role)
        span = self._top_word_span(c.text, role) if top_word else None

        def predict(texts: list[str]) -> np.ndarray:
            return clf.predict(texts, batch_size=max(1, len(texts))).probs

        return probe(predict, c.text, clf.labels, seed=seed, top_word=span, encode=lambda t: clf.tokenize([t])[0][0])
