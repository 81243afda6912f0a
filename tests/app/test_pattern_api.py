"""Review by pattern through the API of a served app (tiny model, a train split with planted negated "angry"
rows): ``patterns``, ``pattern_rows``, the spot check judged with ``review_decide``, ``pattern_apply`` and
``batch_undo``; the undo is kept after a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.review.store import ReviewStore
from tests.conftest import EMOTION

PATTERN = "negated:anger:angry"
PLANTED = ["i dont feel angry about the {} at all", "i didnt feel angry when the {} broke",
           "i never feel angry about my {} now", "i am not feeling angry about the {}"]
THINGS = ["car", "phone", "garden", "exam", "holiday"]
N_REAL = 40
#: The app's flags: the train split, a third of it grouped, a spot check of 3 rows passing at a lower bound of 0.4.
ARGS = ("--split", "train", "--pattern-share", "0.35", "--spot-check-k", "3", "--spot-check-threshold", "0.4")


def pattern_data(folder: Path) -> Path:
    """A data folder whose train split is N_REAL real rows and 20 planted negated "angry" rows labelled anger."""
    if not EMOTION.is_dir():
        pytest.skip("../shared/emotion is absent")
    folder.mkdir(parents=True, exist_ok=True)
    real = (EMOTION / "train.txt").read_text().splitlines()[:N_REAL]
    planted = [f"{t.format(w)};anger" for t in PLANTED for w in THINGS]
    (folder / "train.txt").write_text("\n".join(real + planted) + "\n")
    return folder


@pytest.fixture(scope="module")
def pattern_server(tiny_model_dir, tmp_path_factory):
    from tests.app.space_server import start_app

    folder = tmp_path_factory.mktemp("pattern-api")
    server = start_app(tiny_model_dir, pattern_data(folder / "data"), folder / "cache", args=ARGS)
    try:
        yield server
    finally:
        server.stop()


def _client(url: str):
    from gradio_client import Client

    return Client(url, ssl_verify=False, verbose=False)


def test_patterns_spot_check_bulk_relabel_and_undo_through_the_api(pattern_server, tiny_model_dir):
    client = _client(pattern_server.url)
    table = {p["pattern"]: p for p in client.predict(split="train", api_name="/patterns")}
    assert table[PATTERN]["name"] == 'negated "angry" (anger)' and table[PATTERN]["size"] >= 8
    rows = client.predict(pattern=PATTERN, split="train", limit=100, api_name="/pattern_rows")
    assert len(rows) == table[PATTERN]["size"] and sum(r["spot"] for r in rows) == 3
    assert all(N_REAL <= r["sample_id"] < N_REAL + 20 for r in rows)
    with pytest.raises(Exception, match="spot check does not allow"):
        client.predict(pattern=PATTERN, action="relabel", split="train", api_name="/pattern_apply")
    for r in (r for r in rows if r["spot"]):
        client.predict(sample_id=r["sample_id"], action="relabel", new_label=r["suggest"], split="train",
                       api_name="/review_decide")
    out = client.predict(pattern=PATTERN, action="relabel", split="train", reviewer="ana", api_name="/pattern_apply")
    assert out["rows"] + out["left_out"] == len(rows) - 3 and out["spot_check"]["hits"] == 3
    after = client.predict(pattern=PATTERN, split="train", limit=100, api_name="/pattern_rows")
    assert sum(r["batch"] == out["batch"] for r in after) == out["rows"]

    undone = client.predict(batch=out["batch"], split="train", api_name="/batch_undo")
    assert undone["rows"] == out["rows"] and undone["undoes"] == out["batch"]
    with pytest.raises(Exception, match="undone already"):
        client.predict(batch=out["batch"], split="train", api_name="/batch_undo")
    store = ReviewStore(pattern_server.db)
    key = store.keys()[0]
    assert len(store.latest(key)) == 3  # the spot check's judgements only
    assert len(store.history(key)) == 3 + 2 * out["rows"]  # nothing rewritten: the batch and its undo are events
