"""Registries: names, aliases via kwargs, user classes by path, families, and helpful errors."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from nasarena.errors import ConfigError, UnknownNameError
from nasarena.estimators.nb201_lite import NB201LiteOracle
from nasarena.estimators.nbgraph import NBGraphOracle
from nasarena.estimators.table import TableOracle
from nasarena.registry import ORACLES, SPACES, STRATEGIES, Registry, load_object, make_oracle, make_space
from nasarena.spaces.nb201 import NB201Space
from nasarena.spaces.nbgraph import NBGraphSpace


def test_make_oracle_nb201_lite_with_an_alias() -> None:
    o = make_oracle("nb201-lite", dataset="cifar10")
    assert isinstance(o, NB201LiteOracle) and o.dataset == "cifar10-valid"


def test_registered_names_of_this_issue_resolve() -> None:
    assert isinstance(make_space("nb201"), NB201Space)
    assert isinstance(make_space("nbgraph"), NBGraphSpace)
    assert ORACLES.resolve("table") is TableOracle
    assert ORACLES.resolve("nas-bench-graph") is NBGraphOracle
    assert isinstance(make_oracle("nas-bench-graph", dataset="proteins"), NBGraphOracle)
    assert {"nb201-lite", "table", "nas-bench-graph"} <= set(ORACLES.names())
    assert "nb201-lite" in ORACLES and "nb201-litex" not in ORACLES
    assert list(ORACLES) == ORACLES.names() == sorted(ORACLES.names())


@pytest.mark.parametrize(("registry", "kind"),
                         [(ORACLES, "oracle"), (SPACES, "space"), (STRATEGIES, "strategy")])
def test_unknown_names_list_the_valid_ones(registry: Registry, kind: str) -> None:
    with pytest.raises(UnknownNameError) as exc:
        registry.resolve("no-such-thing")
    msg = str(exc.value)
    assert msg.startswith(f"unknown {kind} 'no-such-thing'")
    assert all(repr(n) in msg for n in registry.names())
    assert "path/to/file.py:ClassName" in msg


def test_unknown_oracle_via_make_oracle() -> None:
    with pytest.raises(UnknownNameError, match="'nb201-lite'.*'table'"):
        make_oracle("nasbench101")


USER_FILE = '''
class MyOracle:
    def __init__(self, dataset="d"):
        self.dataset = dataset
'''


def test_user_class_by_file_path(tmp_path: Path) -> None:
    path = tmp_path / "my_oracles.py"
    path.write_text(USER_FILE)
    o = make_oracle(f"{path}:MyOracle", dataset="x")
    assert type(o).__name__ == "MyOracle" and o.dataset == "x"
    # the module is loaded once per file, so classes stay identical across look-ups
    assert ORACLES.resolve(f"{path}:MyOracle") is ORACLES.resolve(f"{path}:MyOracle")


def test_user_class_by_module_path() -> None:
    assert ORACLES.resolve("nasarena.estimators.table:TableOracle") is TableOracle
    assert load_object("nasarena.spaces.nbgraph:NBGraphSpace") is NBGraphSpace


def test_bad_paths(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        make_oracle(f"{tmp_path / 'absent.py'}:X")
    (tmp_path / "m.py").write_text("A = 1\n")
    with pytest.raises(ConfigError, match="has no attribute 'B'"):
        make_oracle(f"{tmp_path / 'm.py'}:B")
    with pytest.raises(ConfigError, match="is not an entry point"):
        load_object("nasarena.registry")


def test_families_build_with_the_value_as_an_argument() -> None:
    reg = Registry("strategy")
    reg.register_family("optuna", lambda sampler, **kw: ("built", sampler, kw), "sampler")
    assert reg.make("optuna:tpe", seed=3) == ("built", "tpe", {"seed": 3})
    assert reg.make("optuna:cmaes") == ("built", "cmaes", {})
    assert "optuna:<sampler>" in reg.names()
    lazy = Registry("strategy")
    lazy.register_family("tbl", "nasarena.estimators.table:TableOracle", "path")
    factory = lazy.resolve("tbl:some.csv")
    assert isinstance(factory, functools.partial) and factory.func is TableOracle
    assert factory.keywords == {"path": "some.csv"}


def test_duplicate_registration_needs_overwrite() -> None:
    reg = Registry("oracle")
    reg.register("a", lambda: 1)
    with pytest.raises(ConfigError, match="already registered"):
        reg.register("a", lambda: 2)
    reg.register("a", lambda: 2, overwrite=True)
    assert reg.make("a") == 2


def test_installed_entry_point_is_found(tmp_path, monkeypatch) -> None:
    """A package can add a strategy through the ``nasarena.strategies`` entry-point group."""
    pkg = tmp_path / "ep_demo_pkg.py"
    pkg.write_text("class Demo:\n    def __init__(self, **kw):\n        self.kw = kw\n")
    dist = tmp_path / "ep_demo_pkg-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-demo-pkg\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[nasarena.strategies]\nep-demo = ep_demo_pkg:Demo\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from nasarena.registry import STRATEGIES

    built = STRATEGIES.make("ep-demo", x=1)
    assert type(built).__name__ == "Demo" and built.kw == {"x": 1}


@pytest.mark.parametrize("body,expected", [("def (\n", "SyntaxError"), ("x = 1\nraise RuntimeError('boom')\n",
                                                                        "RuntimeError: boom")])
def test_a_broken_strategy_file_is_one_error_naming_file_and_line(tmp_path, body, expected):
    import sys

    path = tmp_path / "broken.py"
    path.write_text(body)
    before = set(sys.modules)
    with pytest.raises(ConfigError, match=f"cannot import .*broken.py: {expected}.*broken.py:[12]"):
        load_object(f"{path}:X")
    assert set(sys.modules) == before  # no half-imported module left to be served next time
