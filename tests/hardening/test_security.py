"""Security of the served dashboard and of the code: no file of the user's choosing is served, uploads
are size-limited and never parsed, no API input is a file, nothing is unpickled, no remote code runs.
"""

from __future__ import annotations

import ast
import http.client
import json
import re
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import pytest

from dashboard.plotly_bridge import PLOTLY_JS
from tests.conftest import REPO, SHARED, needs_emotion, needs_minilm

SOURCES = sorted([*(REPO / "core").rglob("*.py"), *(REPO / "dashboard").rglob("*.py"), REPO / "app.py"])
UPLOAD_LIMIT = 10 * 1024 * 1024


def raw_get(base_url: str, path: str) -> tuple[int, bytes]:
    """GET ``path`` exactly as written (no client-side normalisation of ``..`` or escapes)."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ---- the served app ------------------------------------------------------------------------------

def forbidden_paths(cache_dir: Path) -> dict[str, Path]:
    """URL paths that must be refused, each with the real file it points at."""
    meta = next(cache_dir.glob("analysis/*/meta.json"))
    validation = SHARED / "emotion" / "validation.txt"
    passwd = Path("/etc/passwd")
    return {
        "/gradio_api/file=/etc/passwd": passwd,
        "/gradio_api/file=%2Fetc%2Fpasswd": passwd,
        "/gradio_api/file=/proc/self/environ": Path("/proc/self/environ"),
        f"/gradio_api/file={REPO}/app.py": REPO / "app.py",
        "/gradio_api/file=app.py": REPO / "app.py",
        "/gradio_api/file=core/classifier/model.py": REPO / "core" / "classifier" / "model.py",
        f"/gradio_api/file={REPO}/../shared/emotion/validation.txt": validation,
        "/gradio_api/file=../shared/emotion/validation.txt": validation,
        f"/gradio_api/file={SHARED}/models/emotion-minilm/config.json": SHARED / "models/emotion-minilm/config.json",
        f"/gradio_api/file={meta}": meta,  # the app's own cache
        f"/gradio_api/file={PLOTLY_JS}/../../__init__.py": PLOTLY_JS.parents[1] / "__init__.py",
        f"/gradio_api/file={PLOTLY_JS.parent}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd": passwd,
        "/gradio_api/file=/tmp/../etc/passwd": passwd,
        "/file=/etc/passwd": passwd,
        "/static/../../../../../../etc/passwd": passwd,
        "/assets/../../../../../../etc/passwd": passwd,
    }


@needs_minilm
@needs_emotion
def test_no_path_of_the_users_choosing_is_served(app_url, minilm_cache_dir):
    status, body = raw_get(app_url, f"/gradio_api/file={PLOTLY_JS}")  # the route works: plotly.js is served
    assert status == 200 and body.startswith(b"/**") and b"plotly.js" in body[:200]
    for path, real in forbidden_paths(minilm_cache_dir).items():
        status, body = raw_get(app_url, path)
        assert status in (403, 404), (path, status, body[:200])
        head = real.read_bytes()[:60] if real.name != "environ" else b"PATH="
        assert len(head) > 4 and head not in body, (path, body[:200])


@needs_minilm
@needs_emotion
@pytest.mark.parametrize("api", ["classify", "explain"])
def test_a_file_reference_in_api_input_is_not_opened(app_url, api):
    """A ``FileData`` dict naming a server file, in place of the text: refused, the file is not read."""
    file_data = {"path": "/etc/passwd", "url": None, "meta": {"_type": "gradio.FileData"}}
    body = {"data": [file_data] + (["predicted class", False] if api == "explain" else [])}
    root = app_url.rstrip("/") + f"/gradio_api/call/{api}"
    with httpx.Client(timeout=60) as http:
        posted = http.post(root, json=body)
        assert posted.status_code == 200
        stream = http.get(f"{root}/{posted.json()['event_id']}").text
    assert "event: error" in stream and "root:" not in stream, stream[:500]


@needs_minilm
@needs_emotion
def test_the_api_takes_only_text(app_url):
    from gradio_client import Client

    endpoints = Client(app_url, verbose=False).view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(endpoints) == {"/classify", "/explain", "/probe", "/review_queue", "/review_decide", "/review_export",
                              "/audit_next", "/audit_decide", "/audit_revise", "/audit_report", "/similar",
                              "/patterns", "/pattern_rows", "/pattern_apply", "/batch_undo", "/ranking_state",
                              "/ranking_refit", "/review_evidence"}
    for name, spec in endpoints.items():
        for param in spec["parameters"]:
            kind = param["type"].get("type")
            if (name, param["parameter_name"]) == ("/explain", "faithful"):
                assert kind == "boolean", (name, param)  # the one flag: also score the explanation's faithfulness
            elif name in ("/classify", "/explain", "/probe"):
                assert kind == "string", (name, param)  # a str or a Literal of str
            else:  # review, audit, pattern, ranking, similar: plain values too: names, ids, flags, never a file
                assert kind in ("string", "integer", "number", "boolean"), (name, param)
            assert param["component"] in ("Textbox", "Dropdown", "Api", "Checkbox"), (name, param)


@needs_minilm
@needs_emotion
def test_uploads_are_size_limited_and_never_parsed(app_url, tmp_path):
    from dashboard.app import launch_options

    upload = app_url.rstrip("/") + "/gradio_api/upload"
    big = tmp_path / "big.txt"
    big.write_bytes(b"i feel great;joy\n" * (11 * 1024 * 1024 // 17 + 1))  # 11 MB
    assert big.stat().st_size > UPLOAD_LIMIT
    with httpx.Client(timeout=120) as http, big.open("rb") as f:
        refused = http.post(upload, files={"files": ("big.txt", f, "text/plain")})
    assert refused.status_code == 413, refused.text[:300]
    assert "exceeded maximum allowed size" in refused.text

    hostile_name = "../../../../tmp/evil.pkl"
    with httpx.Client(timeout=60) as http:
        kept = http.post(upload, files={"files": (hostile_name, b"\x80\x04K\x01.", "application/octet-stream")})
    assert kept.status_code == 200, kept.text
    (stored,) = kept.json()
    assert ".." not in Path(stored).parts and Path(stored).name == "evil.pkl"
    assert not Path("/tmp/evil.pkl").exists()
    # nothing in the app reads uploads: no endpoint takes a file (see test_the_api_takes_only_text);
    # the limit the server enforced above is the launch option
    from core.settings import Settings

    assert launch_options(SimpleNamespace(labels=["a", "b"], settings=Settings()))["max_file_size"] == "10mb"


# ---- the code ------------------------------------------------------------------------------------

UNPICKLING_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
UNPICKLING_CALLS = {"load", "loads", "read_pickle", "Unpickler"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Name):
        return node.id
    return ""


def test_nothing_is_unpickled():
    """No pickle-family import, no ``torch.load``, no ``read_pickle``, no ``allow_pickle=True``, in
    core/, dashboard/ and app.py (checked on the syntax tree, and with a plain grep)."""
    problems = []
    for path in SOURCES:
        source = path.read_text()
        rel = path.relative_to(REPO)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                bad = {n.split(".")[0] for n in names if n} & UNPICKLING_MODULES
                if bad:
                    problems.append(f"{rel}:{node.lineno} imports {bad}")
            elif isinstance(node, ast.Call):
                name = _dotted(node.func)
                root, _, last = name.rpartition(".")
                if name in ("torch.load", "pd.read_pickle", "pandas.read_pickle") or last == "read_pickle" or (
                        root.split(".")[0] in UNPICKLING_MODULES and last in UNPICKLING_CALLS):
                    problems.append(f"{rel}:{node.lineno} calls {name}")
                for kw in node.keywords:
                    is_false = isinstance(kw.value, ast.Constant) and kw.value.value is False
                    if kw.arg == "allow_pickle" and not is_false:
                        problems.append(f"{rel}:{node.lineno} passes allow_pickle={ast.unparse(kw.value)}")
                if name in ("np.load", "numpy.load") and not any(kw.arg == "allow_pickle" for kw in node.keywords):
                    problems.append(f"{rel}:{node.lineno} calls {name} without allow_pickle=False")
        for i, line in enumerate(source.splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"\bimport\s+(c?pickle|dill|cloudpickle|joblib)\b|\bpickle\.(load|loads)\b|torch\.load\b|"
                         r"allow_pickle\s*=\s*True|read_pickle\b", code):
                problems.append(f"{rel}:{i}: {line.strip()}")
    assert problems == []


def test_remote_code_is_never_trusted():
    problems = []
    for path in [*SOURCES, *sorted((REPO / "bench").rglob("*.py"))]:
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.keyword) and node.arg == "trust_remote_code":
                if not (isinstance(node.value, ast.Constant) and node.value.value is False):
                    problems.append(f"{path.relative_to(REPO)}: trust_remote_code={ast.unparse(node.value)}")
        if re.search(r"trust_remote_code\s*=\s*True|\"trust_remote_code\"\s*:\s*True", source):
            problems.append(f"{path.relative_to(REPO)}: trust_remote_code=True")
    assert problems == []
    model_source = (REPO / "core" / "classifier" / "model.py").read_text()
    assert model_source.count("trust_remote_code=False") >= 2  # tokenizer and model are both loaded with it


def test_model_downloads_fetch_no_pickles():
    """A Hub model is fetched as JSON, text and safetensors only (never ``pytorch_model.bin``)."""
    tree = ast.parse((REPO / "core" / "classifier" / "model.py").read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _dotted(n.func) == "snapshot_download"]
    assert calls, "core/classifier/model.py no longer calls snapshot_download"
    for call in calls:
        patterns = next(ast.literal_eval(kw.value) for kw in call.keywords if kw.arg == "allow_patterns")
        assert all(not p.endswith((".bin", ".pt", ".pkl", ".pth", ".ckpt")) and p != "*" for p in patterns), patterns
        assert json.dumps(patterns)
