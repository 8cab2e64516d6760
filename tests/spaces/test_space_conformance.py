"""Every registered space passes the space conformance suite; the suite catches a broken space."""

from __future__ import annotations

import pytest

from nasarena.registry import SPACES, make_space
from nasarena.spaces.conformance import check_space, iter_checks
from nasarena.spaces.nb201 import NB201Space


@pytest.mark.parametrize("name", SPACES.names())
def test_registered_space_conforms(name: str) -> None:
    check_space(make_space(name))


def test_traits_choose_the_checks() -> None:
    names = dict(iter_checks(NB201Space()))
    assert "enumeration" in names and "conditional" not in names  # 15,625 tuples, unconditional
    conditional = [n for n in SPACES.names() if make_space(n).conditional]
    for n in conditional:
        assert "conditional" in dict(iter_checks(make_space(n)))


class _Leaky(NB201Space):
    """Mutation that leaves the space."""

    name = "leaky"

    def mutate(self, arch, rng):
        return (*arch[:-1], 99)


def test_the_suite_catches_a_broken_space() -> None:
    with pytest.raises(AssertionError, match=r"(?s)failed 1 conformance check.*mutation: .*got 99"):
        check_space(_Leaky())
