"""The analyst's service methods on a tiny real model: word-level explain, probe, robustness, calibration."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis.calibration import ece
from core.analysis.robustness import report_path
from core.classifier.model import length_batches
from core.data.text_input import InputError
from core.services.emotion import EmotionService
from core.settings import Settings
from tests.conftest import LABELS, app_tolerance, write_split_lines


@pytest.fixture(scope="module")
def service(tiny_model_dir, tmp_path_factory):
    folder = write_split_lines(tmp_path_factory.mktemp("analyst-data"), "validation", 60)
    settings = Settings(model=str(tiny_model_dir), data=str(folder), cache_dir=tmp_path_factory.mktemp("an-cache"))
    return EmotionService.load(settings, show_progress=False)


def test_explain_gives_words_that_rebuild_the_text(service):
    text = "i feel extraordinarily happy 😭 <b>today</b>"
    exp = service.explain(text, target="joy")
    assert "".join(s for s, _ in exp.segments()) == text
    assert "".join(s for s, _ in exp.segments(pieces=True)) == text
    words = [exp.word_text(i) for i in exp.explained_words()]
    assert "extraordinarily" in words and "😭" not in words  # the emoji is [UNK] for this tokenizer
    assert len(exp.tokens) > len(words)  # pieces were grouped
    np.testing.assert_allclose(exp.word_values[:, LABELS.index("joy")].sum(), exp.values.sum(), atol=1e-9)
    assert exp.top_words(2)[0][0] in words


def test_probe_is_one_predict_call_and_removes_the_top_word(service):
    text = "i feel so happy and loved today"
    exp = service.explain(text)
    forwards = []
    runs = getattr(service.classifier.backend, "model", service.classifier.model)  # the bf16 copy under bf16
    hook = runs.register_forward_hook(lambda *a: forwards.append(1))
    try:
        res = service.probe(text)
    finally:
        hook.remove()
    edited = [text, *res.rows["text"]]
    ids, _ = service.classifier.tokenize(edited)
    # one batch of every edit, cut only where the classifier's own length batching says so
    assert len(forwards) == len(length_batches([len(x) for x in ids], len(edited)))
    assert res.predicted == exp.predicted
    top = [e for e in res.rows["edit"] if e.startswith("top word removed")]
    assert len(top) == 1
    word = max(exp.explained_words(), key=lambda i: abs(exp.word_values[i, LABELS.index(exp.predicted)]))
    assert f'("{exp.word_text(word)}")' in top[0]
    k = LABELS.index(res.predicted)
    again = service.classify(list(res.rows["text"]))
    np.testing.assert_allclose(res.rows["p_predicted"], [r.probs[LABELS[k]] for r in again],
                               atol=max(1e-3, app_tolerance(batching=True)))
    assert list(res.rows["flipped"]) == [r.label != res.predicted for r in again]
    with pytest.raises(InputError):
        service.probe("   ")


def test_robustness_is_cached_beside_the_analysis(service):
    ticks = []
    rep = service.robustness(progress=lambda d, t: ticks.append((d, t)))
    assert ticks and ticks[-1][0] == ticks[-1][1] == len(rep.rows)
    assert rep.n_rows == len(service.table)
    assert service.robustness_cached()
    assert service.robustness() is rep  # memoised
    files = list((service.settings.cache_dir / "analysis").glob("*.robustness-s0.parquet"))
    assert len(files) == 1 and (files[0].parent / files[0].name.split(".")[0]).is_dir()
    assert files[0] == report_path(service.settings.cache_dir, files[0].name.split(".")[0])
    service.analyses.forget_reports()
    again = service.robustness(progress=lambda d, t: pytest.fail("rebuilt instead of read back"))
    assert again.rows.equals(rep.rows)
    # the edits' predictions agree with classifying the edited texts now
    sample = rep.rows.head(5)
    preds = [r.label for r in service.classify(list(sample["edited"]))]
    assert preds == list(sample["pred_after"])


def test_calibration_of_the_split(service):
    cal = service.calibration()
    table = service.table
    probs = table[[f"prob_{x}" for x in LABELS]].to_numpy()
    labels = table["label"].map(LABELS.index).to_numpy()
    assert cal.n == len(table)
    assert cal.ece == pytest.approx(ece(probs, labels))
    assert cal.temperature > 0 and set(cal.per_class) == set(LABELS)
