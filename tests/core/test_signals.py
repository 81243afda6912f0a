"""Ranking signals that do not share the labeller's mistake (core.analysis.signals), on small real fixtures."""

from __future__ import annotations

import numpy as np
import pytest

from core.analysis.signals import aum, judges, knn, lexicon, negation, oof, parse
from tests.conftest import LABELS, MINILM, needs_minilm
from tests.core.test_mislabels import clustered

NEGATED = ["i didnt feel humiliated at all", "i wasnt feeling angry it was a lovely day",
           "i do not feel scared anymore", "i don t feel happy", "i never felt so loved"]
PLAIN = ["i feel humiliated", "i was feeling angry all day", "i feel scared of the dark", "i feel happy",
         "i felt so loved"]
GIVEN = ["sadness", "anger", "fear", "joy", "love"]


def test_a_class_cue_word_is_found_where_the_labeller_would_find_it():
    cue = lexicon.find_cue("my sister was sad but i feel furious", "anger")
    assert (cue.word, cue.by) == ("furious", "list")
    assert lexicon.find_cue("i feel rather meh today", "joy").by == "feel"  # not listed: the word after "feel"
    assert lexicon.find_cue("nothing to see", "joy") is None
    assert lexicon.nrc_lexicon().get("abandoned")  # the NRC lexicon installed with nrclex
    assert set(lexicon.CLASS_WORDS) == set(LABELS)


@pytest.mark.parametrize("scores", [negation.rule_scores, parse.parse_scores], ids=["rule", "parse"])
def test_a_negated_cue_is_flagged_and_its_plain_form_is_not(scores):
    neg, plain = scores(NEGATED, GIVEN), scores(PLAIN, GIVEN)
    assert neg.shape == plain.shape == (len(GIVEN),)
    assert (neg >= negation.SCORES["softened"]).all(), neg
    assert (plain == 0).all(), plain


@pytest.mark.parametrize("scores", [negation.rule_scores, parse.parse_scores], ids=["rule", "parse"])
def test_contrast_wish_and_softened_negation_score_between(scores):
    texts = ["i used to feel hopeless but now i feel hopeful", "i want to feel happy",
             "i feel not very confident", "i feel happy but my cat is sick and i am worried",
             "i felt sad but now i feel great"]
    got = scores(texts, ["sadness", "joy", "joy", "joy", "joy"])
    assert got[0] == negation.SCORES["used_to"]
    assert got[1] == negation.SCORES["wish"]
    assert got[2] == negation.SCORES["softened"]
    assert got[3] == negation.SCORES["contrast_other"]
    assert got[4] == 0  # the cue of joy ("great") comes after the contrast: it holds


def test_bare_negator_baseline_and_length_checks():
    assert negation.any_negator(["i can t believe it", "i cant", "i can do it"]).tolist() == [1, 1, 0]
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        negation.rule_scores(["a", "b"], ["joy"])


def test_the_lexicon_judge_skips_negated_words_and_suggests_the_other_class():
    texts = ["i wasnt feeling angry i was happy and relaxed", "i am feeling angry and furious"]
    out = judges.lexicon_vote(texts, np.array([LABELS.index("anger")] * 2), LABELS)
    assert out["not_given"][0] > out["not_given"][1]
    assert LABELS[out["suggest"][0]] == "joy" and LABELS[out["suggest"][1]] == "anger"
    assert ((out["not_given"] > 0) & (out["not_given"] < 1)).all()


def test_the_zero_shot_judge_reads_the_sentence():
    from core.analysis.signals.encoder import embed, load_encoder

    enc = load_encoder()
    texts = ["i am absolutely furious and enraged at them for lying", "i am so scared and anxious about tomorrow"]
    x = embed(texts, encoder=enc)
    assert x.shape == (2, 384) and np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-4)
    wrong = judges.zero_shot(x, np.array([LABELS.index("joy")] * 2), LABELS, encoder=enc)
    right = judges.zero_shot(x, np.array([LABELS.index("anger"), LABELS.index("fear")]), LABELS, encoder=enc)
    assert [LABELS[i] for i in wrong["suggest"]] == ["anger", "fear"]
    assert (wrong["not_given"] > right["not_given"]).all() and (wrong["margin"] > 0).all()
    assert (right["margin"] < 0).all()
    with pytest.raises(ValueError, match="no class description"):
        judges.class_similarity(x, ["boredom"], encoder=enc)


def planted_corpus(seed: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """40 invented texts per class built from that class's words, and 4 rows whose label contradicts them."""
    rng = np.random.default_rng(seed)
    subjects = ["my boss", "the weather", "this week", "my exam", "the game", "our trip", "the news", "my room"]
    texts, y = [], []
    for c, name in enumerate(LABELS):
        words = lexicon.CLASS_WORDS[name][:12]
        for _ in range(40):
            texts.append(f"i feel {rng.choice(words)} and {rng.choice(words)} about {rng.choice(subjects)}")
            y.append(c)
    y = np.array(y)
    planted = np.array([3, 50, 130, 170])
    y[planted] = (y[planted] + 3) % len(LABELS)
    return texts, y, planted


def test_tfidf_out_of_fold_flags_planted_contradictions():
    texts, y, planted = planted_corpus()
    probs = oof.tfidf_oof(texts, y, len(LABELS))
    assert probs.shape == (len(texts), len(LABELS)) and np.allclose(probs.sum(axis=1), 1)
    not_given, margin = oof.given_scores(probs, y)
    assert set(np.argsort(-not_given)[:len(planted)]) == set(planted)
    assert set(np.argsort(-margin)[:len(planted)]) == set(planted)
    context = oof.tfidf_oof(texts, y, len(LABELS), context_only=True)  # emotion words masked: near the class prior
    assert context.max() < probs.max()


def test_embedding_signals_flag_planted_flips():
    x, y = clustered(n_per=40, k=6)
    flipped = np.array([5, 77, 160])
    noisy = y.copy()
    noisy[flipped] = (noisy[flipped] + 1) % 6
    for score in (oof.given_scores(oof.embedding_oof(x, noisy, 6), noisy)[0], aum.aum_scores(x, noisy, 6),
                  knn.disagreeing_share(x, noisy, 6)["share"]):
        assert score.shape == (len(y),) and np.isfinite(score).all()
        assert set(np.argsort(-score, kind="stable")[:3]) == set(flipped)
    with pytest.raises(ValueError, match="at least 5 rows"):
        oof.embedding_oof(x[:8], noisy[:8], 6)


@needs_minilm
def test_probes_see_the_label_rest_on_one_word():
    from core.analysis.signals.probes import probe_edits, probe_scores
    from core.classifier.model import load_classifier

    clf = load_classifier(MINILM)
    texts = ["i feel so furious right now", "nothing here at all", "i didnt feel furious at all"]
    labels = ["anger", "anger", "anger"]
    removed, negated, has, negatable = probe_edits(texts, labels)
    assert removed[0] == "i feel so right now" and has.tolist() == [True, False, True]
    assert negated[2] == "i did feel furious at all" and negatable.tolist() == [False, False, True]
    base = clf.predict(texts).probs
    out = probe_scores(clf, texts, labels, base)
    assert out["probe_removed_drop"][0] > 0.3  # the model's anger rests on "furious"
    assert all(v[1] == 0 for v in out.values())  # no cue: not applicable
    assert out["probe_negate_drop"][0] == 0 and out["probe_negate_drop"][2] != 0  # only a negated text is probed


def test_every_family_declares_json_able_parameters_and_a_display_name():
    import json

    from core.analysis.signals.compute import FAMILIES
    from core.analysis.signals.context import family_params
    from core.analysis.signals.registry import families

    assert set(FAMILIES) == set(families()) and len(FAMILIES) == 11
    for name, fam in families().items():
        assert fam.title and fam.columns, name
        assert json.loads(json.dumps(family_params(name)))["params"] is not None


def test_a_cue_about_a_thing_or_someone_else_is_told_from_the_writers_own():
    from core.analysis.signals.parse import parse_signals
    from core.analysis.signals.target import TARGET_SCORES

    texts = ["i feel sad", "feeling sad today", "i watched a scary movie with friends", "she feels sad",
             "i feel like a scared child"]
    got = parse_signals(texts, ["sadness", "sadness", "fear", "sadness", "fear"])["cue_target"]
    assert got.tolist()[:2] == [0.0, 0.0]
    assert got[2] == TARGET_SCORES["thing"] and got[3] == TARGET_SCORES["other_subject"]
    assert got[4] == TARGET_SCORES["figurative"]


def test_compute_signals_returns_every_column_and_reads_its_cache_back(tmp_path):
    from core.analysis.signals.compute import compute_signals

    texts, y, planted = planted_corpus(seed=1)
    labels = [LABELS[i] for i in y]
    fams = ("negation", "lexicon", "knn", "oof_tfidf", "oof_context", "target")
    hidden = np.random.default_rng(0).normal(size=(len(texts), 8)).astype(np.float32)
    table, seconds = compute_signals(texts, labels, LABELS, hidden=hidden, cache_dir=tmp_path, families=fams)
    assert set(seconds) == set(fams) and len(table) == len(texts)
    floats = [c for c in table.columns if not c.endswith("_suggest")]
    assert {"neg_rule", "neg_parse", "neg_any", "lex_not_given", "knn_disagree_cls", "oof_tfidf", "oof_context",
            "cue_target"} <= set(floats)
    assert all(np.isfinite(table[c]).all() for c in floats)
    assert set(table["oof_tfidf_suggest"]) <= set(LABELS) and set(table["lex_suggest"]) <= {*LABELS, ""}
    assert set(np.argsort(-table["oof_tfidf"].to_numpy())[:len(planted)]) == set(planted)
    files = sorted((tmp_path / "signals").glob("*.npz"))
    assert len(files) == len(fams) + 1  # and the sentence embeddings (knn_disagree_enc)
    again, _ = compute_signals(texts, labels, LABELS, hidden=hidden, cache_dir=tmp_path, families=fams)
    assert again.equals(table)
    for f in files:  # a planted value in the cache file is what comes back: the cache is read, not recomputed
        with np.load(f) as z:
            arrays = {k: z[k] for k in z.files}
        if "neg_any" in arrays:
            np.savez(f, **{**arrays, "neg_any": np.full(len(texts), 7.0, dtype=np.float32)})
    planted_back, _ = compute_signals(texts, labels, LABELS, hidden=hidden, cache_dir=tmp_path, families=fams)
    assert (planted_back["neg_any"] == 7.0).all()
    with pytest.raises(ValueError, match="unknown signal families"):
        compute_signals(texts, labels, LABELS, families=("tea_leaves",))
    with pytest.raises(ValueError, match="not among the classes"):
        compute_signals(["i feel bored"], ["boredom"], LABELS, families=("negation",))


def test_the_cli_writes_one_row_per_sample_with_every_column(tiny_model_dir, tmp_path):
    import pandas as pd

    from core.analysis.signals.__main__ import main
    from tests.conftest import write_split_lines

    data = write_split_lines(tmp_path / "data", "train", 200)
    out = tmp_path / "signals.parquet"
    args = ["--model", str(tiny_model_dir), "--data", str(data), "--split", "train", "--cache-dir", str(tmp_path / "c"),
            "--out", str(out), "--families", "negation,lexicon,knn,oof_tfidf,probes"]
    assert main([*args, "--limit", "150"]) == 0
    table = pd.read_parquet(out)
    assert len(table) == 150 and table["sample_id"].tolist() == list(range(150))
    for col in ("text", "label", "loss", "mislabel_score", "neg_rule", "neg_parse", "lex_not_given",
                "knn_disagree_cls", "oof_tfidf", "probe_removed_drop"):
        assert col in table.columns and table[col].notna().all(), col
    assert table["label"].isin(LABELS).all()
    assert main([*args, "--limit", "3"]) == 2


def test_precompute_attaches_signals_to_the_training_split_only(tiny_model_dir, tmp_path):
    import pandas as pd

    from core.analysis.cache import CachedAnalysis
    from core.analysis.precompute import attach_signals
    from core.classifier.model import load_classifier

    clf = load_classifier(tiny_model_dir)
    texts, y, _ = planted_corpus(seed=2)
    probs = np.full((len(texts), len(LABELS)), 1 / len(LABELS))
    table = pd.DataFrame({"text": texts, "label": [LABELS[i] for i in y],
                          **{f"prob_{c}": probs[:, j] for j, c in enumerate(LABELS)}})
    hidden = np.random.default_rng(0).normal(size=(len(texts), 8)).astype(np.float32)
    held_out = CachedAnalysis(table.copy(), hidden, {"split": "validation"}, None)
    assert attach_signals(held_out, clf, cache_dir=tmp_path, families=("negation",)) == {}
    assert list(held_out.table.columns) == list(table.columns)
    train = CachedAnalysis(table.copy(), hidden, {"split": "train"}, None)
    seconds = attach_signals(train, clf, cache_dir=tmp_path, families=("negation", "knn"))
    assert set(seconds) == {"negation", "knn"}
    assert {"neg_rule", "neg_parse", "knn_disagree_cls", "knn_disagree_enc"} <= set(train.table.columns)
    assert train.table["text"].tolist() == texts  # the analysis's own columns untouched


def test_the_emoji_model_judge_reads_the_writers_emotion_and_says_when_it_is_missing():
    from core.analysis.signals.nade_judge import nade_judge
    from core.analysis.signals.resources import is_installed

    if not is_installed("nade"):
        pytest.skip("the nade package is not installed (requirements.txt installs it)")
    names = ["sadness", "joy", "love", "anger", "fear", "surprise"]
    texts = ["i am so happy and grateful today, what a wonderful day", "i am terrified and scared of the dark"]
    as_joy = nade_judge(texts, np.array([1, 1]), names)
    assert as_joy["nade_suggest"].tolist() == [1, 4]  # joy, fear
    assert as_joy["nade_not_given"][0] < as_joy["nade_not_given"][1]  # "joy" fits the first, not the second
    empty = nade_judge([], np.array([], dtype=int), names)
    assert len(empty["nade_not_given"]) == 0
