"""What ``app.py`` needs around loading the service, so that it reaches core through the services only.

- :func:`startup_problem`: why the access settings cannot serve at all, checked before anything loads;
- :func:`start_errors`: the errors that stop a start with one paragraph (data, model, review database);
- :func:`startup_warnings`: the lines to print once the service is loaded.

Importing this module loads no pandas, torch or SQLite module, so ``app.py --help`` stays fast.
"""

from __future__ import annotations

from core.review.access import startup_notes, startup_problem

__all__ = ["start_errors", "startup_problem", "startup_warnings"]


def start_errors() -> tuple[type[Exception], ...]:
    """The errors of bad input that stop a start: unreadable data, an unusable model, a bad review database."""
    from core.classifier.model import ModelError
    from core.data.splits import DataError
    from core.review.store import ReviewStoreError

    return DataError, ModelError, ReviewStoreError


def startup_warnings(settings, service_warnings: list[str]) -> list[str]:
    """The service's own warnings, who may write, and whether decisions outlive a Space restart (plain text)."""
    from core.review.sync import ephemeral_warning

    lines = [*service_warnings, *startup_notes(settings), ephemeral_warning(settings).replace("**", "")]
    return [line for line in lines if line]
