"""Issue 35: poison never stalls. Hostile lines and files through the upload and a real file:// sync target.

Real SQLite stores and real folders. The fixed cases are the issue's (100,000 nested brackets, a time past
year 9999 once in UTC) and what fuzzing found beside them (a 5,000-digit number, a lone surrogate, an
audit weight of 10**400); the fuzz tests send at least 10,000 generated events through each path, each
batch with one valid decision that must be imported.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.review.eventfiles import READ_TRIES
from core.review.store import ReviewStore
from core.review.sync import ReviewSync
from core.review.trust import OUTCOMES, EventRules, import_upload

KEY = "data-fp:train"
RULES = EventRules(labels=frozenset({"joy", "fear"}), rows={KEY: 50})
FIELDS = ("event_id", "time", "dataset_key", "sample_id", "action", "old_label", "new_label", "reviewer", "note",
          "text_hash", "model_fingerprint", "model_pred", "audit", "weight", "batch", "bulk")
POISON = {
    "100,000 nested brackets": b"[" * 100_000,
    "100,000 nested objects": b'{"a": ' * 100_000,
    "a 5,000-digit number": b'{"sample_id": ' + b"9" * 5_000 + b"}",
}


def valid(sample_id: int = 3, **fields) -> dict:
    event = {"event_id": uuid.uuid4().hex, "time": "2024-05-01T12:00:00+00:00", "dataset_key": KEY,
             "sample_id": sample_id, "action": "relabel", "old_label": "joy", "new_label": "fear", "reviewer": "ana"}
    return {**event, **fields}


def poison_events() -> dict[str, dict]:
    return {"time 9999-12-31T23:59:59-14:00": valid(time="9999-12-31T23:59:59-14:00"),
            "time 0001-01-01T00:00:00+14:00": valid(time="0001-01-01T00:00:00+14:00"),
            "a lone surrogate in the note": valid(note="\ud800"),
            "a lone surrogate in an unknown key": valid(dataset_key="other\udfff"),
            "audit weight 10**400": valid(action="not_emotion", new_label=None, audit="uniform", weight=10**400),
            "time as a 1,000-digit number": valid(time=10**1000)}


def lines(events: list[dict]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def ids(store: ReviewStore) -> set[str]:
    return {e["event_id"] for e in store.events()}


def test_every_poison_line_is_refused_on_upload_and_the_valid_one_kept(tmp_path: Path) -> None:
    store = ReviewStore(tmp_path / "r.sqlite")
    good = valid()
    data = b"\n".join([*POISON.values(), lines(list(poison_events().values())), lines([good])])
    report = import_upload(store, data, rules=RULES)
    assert report.added == 1 and report.refused == len(POISON) + len(poison_events())
    assert ids(store) == {good["event_id"]}
    reasons = " ".join(report.reasons(limit=100))
    assert "nested too deeply" in reasons and "out of range once in UTC" in reasons and "lone surrogate" in reasons


def test_an_upload_over_the_byte_limit_is_refused_unread(tmp_path: Path) -> None:
    from core.review import trust

    store = ReviewStore(tmp_path / "r.sqlite")
    path = tmp_path / "big.jsonl"
    with path.open("wb") as f:  # sparse: the size is past the limit without writing 64 MiB
        f.truncate(trust.MAX_FILE_BYTES + 1)
    report = import_upload(store, path, rules=RULES)
    assert report.refused == 1 and "longer than" in report.reasons()[0] and ids(store) == set()


def test_a_poison_file_at_the_target_does_not_stop_a_later_file(tmp_path: Path) -> None:
    target = tmp_path / "target"
    (target / "events").mkdir(parents=True)
    (target / "events" / "20240101-a-poison.jsonl").write_bytes(
        b"\n".join([*POISON.values(), lines(list(poison_events().values()))]))
    store = ReviewStore(tmp_path / "r.sqlite")
    sync = ReviewSync(store, target.as_uri(), every_s=3600, rules=RULES)
    assert sync.sync_now(), sync.status()
    assert sync.counts.refused == len(POISON) + len(poison_events()) and ids(store) == set()
    later = valid()
    (target / "events" / "20240102-b-valid.jsonl").write_bytes(lines([later]))  # written after the poison
    assert sync.sync_now(), sync.status()
    assert ids(store) == {later["event_id"]} and sync.counts.files_read == 2


def test_files_that_are_not_event_files_are_quarantined_and_the_pull_moves_on(tmp_path: Path) -> None:
    events = tmp_path / "target" / "events"
    events.mkdir(parents=True)
    (events / "a-folder.jsonl").mkdir()
    (events / "b-too-long.jsonl").write_bytes(lines([valid(note="x" * 3_000)]))
    os.symlink(tmp_path / "nowhere", events / "c-dangling.jsonl")  # the target fails to give it on every pass
    good = valid()
    (events / "d-valid.jsonl").write_bytes(lines([good]))
    store = ReviewStore(tmp_path / "r.sqlite")
    sync = ReviewSync(store, (tmp_path / "target").as_uri(), every_s=3600, rules=RULES, max_file_bytes=2_000)
    for _ in range(READ_TRIES - 1):  # the unreadable file is tried again; the others are done with
        assert not sync.sync_now() and "c-dangling.jsonl" in sync.status()
        assert ids(store) == {good["event_id"]}
    assert sync.sync_now(), sync.status()
    assert set(sync.quarantine.files) == {"a-folder.jsonl", "b-too-long.jsonl", "c-dangling.jsonl"}
    assert "a folder" in sync.quarantine.files["a-folder.jsonl"]
    assert "longer than 2000" in sync.quarantine.files["b-too-long.jsonl"]
    assert f"in {READ_TRIES} passes" in sync.quarantine.files["c-dangling.jsonl"]
    assert "3 target files quarantined" in sync.status() and "longer than 2000" in sync.status()


def test_pushed_files_stay_under_the_byte_limit_and_every_decision_comes_back(tmp_path: Path) -> None:
    store = ReviewStore(tmp_path / "a.sqlite")
    made = [store.record(KEY, i, action="keep", old_label="joy", reviewer="ana", note="n" * 200) for i in range(30)]
    target = tmp_path / "target"
    sync = ReviewSync(store, target.as_uri(), every_s=3600, rules=RULES, max_file_bytes=2_000)
    assert sync.sync_now() and sync.pending() == 0
    files = list((target / "events").glob("*.jsonl"))
    assert len(files) > 1 and all(f.stat().st_size <= 2_000 for f in files)
    fresh = ReviewStore(tmp_path / "b.sqlite")
    assert ReviewSync(fresh, target.as_uri(), every_s=3600, rules=RULES, max_file_bytes=2_000).sync_now()
    assert ids(fresh) == {d.event_id for d in made}


# ---- fuzzing: at least 10,000 generated events through each path ----------------------------------------------

BATCH = 20
EXAMPLES = 500  # BATCH * EXAMPLES = 10,000 events per path
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

odd_text = st.one_of(
    st.text(max_size=12),
    st.text(st.characters(exclude_categories=()), max_size=8),  # lone surrogates and control characters too
    st.sampled_from(["joy", "fear", "keep", "relabel", "ambiguous", "not_emotion", "skip", KEY, "uniform",
                     "stratified:top5", "\u202e", "\ufeff", "\U0001f600" * 50, "ａｂｃ", "x" * 20_000]),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-(10**400), 10**400),
                    st.floats(allow_nan=True, allow_infinity=True), odd_text)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(odd_text, inner,
                                                                                                  max_size=3),
                           max_leaves=6)


@st.composite
def odd_times(draw) -> str:
    """ISO times at and past the ends of what Python holds, with offsets up to a day."""
    when = draw(st.datetimes()).isoformat()
    offset = draw(st.integers(-24 * 60 + 1, 24 * 60 - 1))
    sign = "-" if offset < 0 else "+"
    return f"{when}{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"


_changes = st.dictionaries(st.sampled_from([*FIELDS, "extra"]), st.one_of(json_values, odd_times(), scalars),
                           max_size=3)
_dropped = st.sets(st.sampled_from(FIELDS), max_size=1)
_raw = st.one_of(st.sampled_from(list(POISON.values())), st.binary(max_size=40),
                 json_values.map(lambda v: json.dumps(v, allow_nan=True).encode("utf-8", "surrogatepass")))


@st.composite
def fuzzed_line(draw) -> bytes:
    """One line: raw poison (3 in 10), or a near-valid event with up to 3 fields changed and 1 dropped."""
    if draw(st.integers(0, 9)) < 3:
        return draw(_raw)
    event = valid(sample_id=draw(st.integers(0, 60)))
    for name in draw(_dropped):
        event.pop(name, None)
    text = json.dumps({**event, **draw(_changes)}, allow_nan=True, ensure_ascii=draw(st.booleans()))
    return text.encode("utf-8", "surrogatepass")


batches = st.tuples(st.lists(fuzzed_line(), min_size=BATCH, max_size=BATCH), st.integers(0, BATCH))


def test_fuzzed_uploads_never_raise_and_never_lose_a_valid_decision(tmp_path: Path) -> None:
    store = ReviewStore(tmp_path / "r.sqlite")
    seen = []

    @FUZZ
    @given(batches)
    def upload(batch: tuple[list[bytes], int]) -> None:
        fuzzed, at = batch
        good = valid(sample_id=at)
        data = b"\n".join([*fuzzed[:at], json.dumps(good).encode(), *fuzzed[at:]])
        report = import_upload(store, data, rules=RULES)
        assert len(report.rows) == sum(bool(line.strip()) for line in data.split(b"\n"))
        assert {r[2] for r in report.rows} <= set(OUTCOMES)
        assert good["event_id"] in store.stored_events([good["event_id"]])
        seen.append(len(fuzzed))

    upload()
    assert sum(seen) >= 10_000


def test_fuzzed_sync_files_never_raise_never_stall_and_never_lose_a_valid_decision(tmp_path: Path) -> None:
    target = tmp_path / "target"
    (target / "events").mkdir(parents=True)
    store = ReviewStore(tmp_path / "r.sqlite")
    sync = ReviewSync(store, target.as_uri(), every_s=3600, rules=RULES)
    seen = []

    @FUZZ
    @given(batches)
    def pull(batch: tuple[list[bytes], int]) -> None:
        fuzzed, at = batch
        good = valid(sample_id=at)
        data = b"\n".join([*fuzzed[:at], json.dumps(good).encode(), *fuzzed[at:]])
        (target / "events" / f"{len(seen):06d}-{uuid.uuid4().hex}.jsonl").write_bytes(data)
        assert sync.sync_now(), sync.status()
        assert good["event_id"] in store.stored_events([good["event_id"]]) and sync.quarantine.count == 0
        seen.append(len(fuzzed))

    pull()
    assert sum(seen) >= 10_000 and sync.counts.files_read == len(seen)
