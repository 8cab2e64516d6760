"""Zero-cost warm-up and move proposals for regularized evolution and random search.

Abdelfattah et al. (ICLR 2021, "Zero-Cost Proxies for Lightweight NAS", section 5) speed up NAS
with a proxy computed on untrained networks: **warm-up** scores ``zc_warmup`` random architectures
(3000 on NB201 with synflow in the paper) and starts from the best ones (regularized evolution's
initial population is the top ``population_size``; random search evaluates its samples best first);
a **move proposal** (regularized evolution) scores ``zc_moves`` distinct mutations of the
tournament winner instead of taking one at random, and evaluates the best (the paper scores all of
them: 24 on NB201).

A strategy never sees a network, so the scores are shared work on the oracle side:
``SharedWork("proxy", n, {"proxy": zc_proxy, "archs": [...]})`` (offered by oracles with the
``"proxy"`` capability, e.g. ``with-proxy``), one row on the run's clock charged its measured
seconds; the evaluation's ``extras`` carry the scores. Turning an option on adds ``"proxy"`` to
the strategy's ``requires``, so an oracle without it is refused before any work. Scores already
known (from the warm-up or earlier moves) are not asked for again. Off (the default) nothing
changes: the same proposals, random numbers, ``requires`` and ``config()`` as before.

While a proxy result is outstanding (several workers), other asks do what the plain strategy would
(uniform samples while the population fills), so no worker idles.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from nasarena.errors import ConfigError
from nasarena.estimators.base import PROXY, PROXY_WORK, Evaluation, SharedWork, proxy_key
from nasarena.spaces.base import Arch
from nasarena.strategies.base import Proposal, Strategy


def choose(options: list[Arch], k: int, uniform: Callable[[], float]) -> list[Arch]:
    """``k`` of ``options`` uniformly without replacement (all of them when ``k >= len``), drawn
    with a partial Fisher-Yates shuffle from ``uniform`` (the strategy's generator)."""
    pool = list(options)
    if k >= len(pool):
        return pool
    for j in range(k):
        r = j + int(uniform() * (len(pool) - j))
        pool[j], pool[r] = pool[r], pool[j]
    return pool[:k]


def _count(strategy: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{strategy}: {name} must be an int >= 0 (0 turns it off), got {value!r}")
    return value


class ProxyGuide:
    """The zero-cost options of one strategy instance: validation, proxy work, scores, the ready queue.

    ``ready`` holds (architecture, parent proposal id or None) pairs that the proxy chose and the
    strategy proposes next, in order.
    """

    def __init__(self, strategy: Strategy, *, warmup: Any = 0, moves: Any = 0,
                 proxy: Any = "synflow") -> None:
        self.warmup = _count(strategy.name, "zc_warmup", warmup)
        self.moves = _count(strategy.name, "zc_moves", moves)
        if not isinstance(proxy, str) or not proxy:
            raise ConfigError(f"{strategy.name}: zc_proxy must be a proxy name such as 'synflow', "
                              f"got {proxy!r}")
        self.proxy = proxy
        self.on = bool(self.warmup or self.moves)
        if self.on:
            strategy.requires = frozenset(strategy.requires) | {PROXY}
        self.warmup_asked = False
        self.seen: set[Arch] = set()  # architectures proposed so far (a move prefers new ones)
        self.cache: dict[Arch, float] = {}
        self.ready: list[tuple[Arch, int | None]] = []
        # proposal id -> (purpose, architectures sent, candidates to choose from, parent proposal id)
        self._pending: dict[int, tuple[str, list[Arch], list[Arch], int | None]] = {}
        self.n_scored = 0

    def config(self) -> dict[str, Any]:
        """The run record's entries: the options and how many architectures were scored; nothing when off."""
        if not self.on:
            return {}
        return {"zc_warmup": self.warmup, "zc_moves": self.moves, "zc_proxy": self.proxy,
                "zc_scored": self.n_scored}

    def ask_scores(self, strategy: Strategy, archs: list[Arch], purpose: str,
                   candidates: list[Arch] | None = None, parent: int | None = None) -> Proposal:
        """A shared-work proposal asking for the proxy scores of ``archs``."""
        work = SharedWork(PROXY_WORK, len(archs), {"proxy": self.proxy, "archs": [list(a) for a in archs]})
        proposal = strategy.shared(work)
        self._pending[proposal.id] = (purpose, archs, archs if candidates is None else candidates, parent)
        return proposal

    def told(self, proposal: Proposal, evaluation: Evaluation, keep: int) -> None:
        """Record a proxy work's scores and queue its choice: the best ``keep`` of a warm-up (best
        first) or the best candidate of a move. A failed work or a missing score counts as NaN, which
        ranks last (a warm-up then keeps its sample order, a move the first, random, mutation)."""
        purpose, sent, candidates, parent = self._pending.pop(proposal.id)
        extras = evaluation.extras if evaluation.ok else {}
        for i, arch in enumerate(sent):
            score = extras.get(proxy_key(i), math.nan)
            if isinstance(score, float | int) and math.isfinite(score):
                self.cache[arch] = float(score)
        self.n_scored += len(sent)
        best = self.ranked(candidates)
        if purpose == "warmup":
            self.ready.extend((a, None) for a in best[:keep])
        else:  # proposed meanwhile (several workers): take the best one not proposed yet, if any
            self.ready.append((self.unseen(best)[0], parent))

    def note(self, proposal: Proposal) -> Proposal:
        """Remember ``proposal``'s architecture as proposed; return it."""
        if proposal.arch is not None:
            self.seen.add(proposal.arch)
        return proposal

    def unseen(self, archs: list[Arch]) -> list[Arch]:
        """Those of ``archs`` not proposed yet, or all of them if every one was."""
        return [a for a in archs if a not in self.seen] or archs

    def ranked(self, archs: list[Arch]) -> list[Arch]:
        """``archs`` by known proxy score, best first; unknown scores last, in their given order."""
        cache = self.cache
        return sorted(archs, key=lambda a: -cache[a] if a in cache else math.inf)

    def pop_ready(self) -> tuple[Arch, int | None] | None:
        """The next architecture the proxy chose, or None."""
        return self.ready.pop(0) if self.ready else None


__all__ = ["ProxyGuide", "choose"]
