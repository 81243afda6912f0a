"""The signal families, each declared in its own module and found here (issue 36).

A family is one :class:`SignalFamily`: its name, its display name, the columns it offers as a
ranking order (column -> name shown in the ranking selectors), the parameters its values depend on
(for its cache key), the shared inputs it reads, the optional resources it goes without when they
are missing (:data:`core.analysis.signals.resources.OPTIONAL`), and its compute function. A module declares it with
:func:`register` at import; :data:`MODULES`, the one list of built-in family modules, is imported on
first use, in that order (the order families are computed in). Adding a signal is one file::

    from core.analysis.signals.registry import SignalFamily, register

    SCALE = 2.0
    FAMILY = register(SignalFamily(
        name="length", title="text length", columns={"length": "long text"},
        params=lambda: {"scale": SCALE}, compute=lambda ctx: {"length": SCALE * np.array(...)}))

plus its module name in :data:`MODULES` (or an import of it anywhere), and, if the shipped ranking
weighs it, its column in :data:`core.analysis.signals.shipped.WEIGHTS`.

The compute function gets a context (:class:`core.analysis.signals.context.SignalContext`) and
returns named arrays: one float per row, and ``*_suggest`` class ids where the family proposes a class.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from core.analysis.signals.resources import OPTIONAL

#: The built-in family modules, imported by :func:`families` in this order.
MODULES: tuple[str, ...] = tuple(f"core.analysis.signals.{m}" for m in (
    "negation", "judges", "knn", "oof", "aum", "target", "probes", "nade_judge"))
#: The shared inputs a family may read (:mod:`core.analysis.signals.context` makes each once per split).
INPUTS = frozenset({"embeddings", "parse", "hidden", "classifier"})


@dataclass(frozen=True)
class SignalFamily:
    """One family of ranking signals: what it is called, what it depends on, and how it is computed."""

    name: str
    title: str
    compute: Callable[..., dict]
    params: Callable[[], Mapping] = dict
    columns: Mapping[str, str] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    needs_model: bool = False

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").isalnum():
            raise ValueError(f"a signal family name is a word (letters, digits, _), got {self.name!r}")
        unknown = sorted(set(self.inputs) - INPUTS)
        if unknown:
            raise ValueError(f"signal family {self.name!r} reads unknown inputs {unknown}; "
                             f"choose from {sorted(INPUTS)}")
        unknown = sorted(set(self.optional) - set(OPTIONAL))
        if unknown:
            raise ValueError(f"signal family {self.name!r} names unknown resources {unknown}; "
                             f"choose from {sorted(OPTIONAL)}")


_FAMILIES: dict[str, SignalFamily] = {}
_OWNERS: dict[str, str] = {}


def register(family: SignalFamily) -> SignalFamily:
    """Add ``family`` (a module re-imported replaces its own); a name taken by another module is refused."""
    owner = getattr(family.compute, "__module__", None) or "?"
    if family.name in _FAMILIES and _OWNERS[family.name] != owner:
        raise ValueError(f"signal family {family.name!r} is already declared by {_OWNERS[family.name]}")
    _FAMILIES[family.name] = family
    _OWNERS[family.name] = owner
    return family


def unregister(name: str) -> None:
    """Remove a family (a test's toy signal); unknown names are ignored."""
    _FAMILIES.pop(name, None)
    _OWNERS.pop(name, None)


def families() -> dict[str, SignalFamily]:
    """Every registered family by name: the built-in ones (:data:`MODULES`) first, then any imported later."""
    for module in MODULES:
        importlib.import_module(module)
    rank = {m: i for i, m in enumerate(MODULES)}
    order = sorted(enumerate(_FAMILIES), key=lambda p: (rank.get(_OWNERS[p[1]], len(MODULES)), p[0]))
    return {name: _FAMILIES[name] for _, name in order}


def get(name: str) -> SignalFamily:
    """The family called ``name``; a clear error naming the known ones otherwise."""
    known = families()
    if name not in known:
        raise ValueError(f"unknown signal family {name!r}; choose from {list(known)}")
    return known[name]


def offered() -> dict[str, str]:
    """Column -> display name of every column a family offers as a ranking order."""
    return {col: title for fam in families().values() for col, title in fam.columns.items()}


def jsonable(value):
    """``value`` with sets as sorted lists and tuples as lists, so its JSON is stable."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def digest(value) -> str:
    """16 hex digits of the SHA-256 of ``value``'s stable JSON (a word list's fingerprint in a key).

    >>> digest(frozenset({"b", "a"})) == digest(["a", "b"])
    True
    """
    raw = json.dumps(jsonable(value), sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]
