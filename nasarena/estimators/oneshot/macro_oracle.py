"""``macro-supernet``: one-shot search of a macro space (``chain``, ``residual``) as shared work.

The same protocol as the NB201 ``supernet`` oracle (:mod:`.oracle`): a one-shot strategy asks
``SharedWork("supernet", 1, {"method": ..., "epoch": k, ...})`` for one epoch of supernet training,
charged its measured seconds on the run's clock; ``evaluate(arch, Fidelity(epochs=k))`` scores an
architecture with the shared weights as they are now (accuracy on fixed images of the architecture
half), so after each epoch the derived architecture is the incumbent. The supernet
(:mod:`.macro_supernet`) shares weights by layer position and channel slice. It trains in the
``uniform`` (``rsps``) and ``controller`` (``enas``) modes, and on ``chain``, with logits per decision,
also in ``gumbel`` (``gdas``: one straight-through Gumbel sample of every decision), ``joint``
(``darts``, both orders: ops mixed, widths channel-masked, depths mixed before the head, the stride
its straight-through argmax) and ``sampled`` (``setn``: one architecture drawn per step, its
architecture step joint). On ``residual`` the logit-based modes are refused before any work
(capabilities ``"supernet:<mode>"``): its connection decisions are not relaxed.

**Final metric** (harness only): a live retraining, from scratch, of the architecture at
``final_fidelity`` by the ``live`` oracle (:mod:`nasarena.estimators.live.oracle`) on the same
dataset, seed ``final_seed``: its test accuracy (%). It is a pure function of the architecture
(cached by the live oracle in memory and in its cache folder, ``final_cache_dir``), asked by the
runner when an architecture becomes the incumbent, outside the study's clock. Default
``final_fidelity``: the live oracle's top fidelity for the dataset (generated data: 6 epochs at
``width_mult=0.5``). The supernet's own size is ``width_mult`` (default 0.5) of the space's widths.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from nasarena.errors import ConfigError, StrategyError
from nasarena.estimators.base import MULTI_FIDELITY, SHARED, Fidelity, Oracle, supernet_mode
from nasarena.estimators.live.args import default_threads, num, synthetic_args
from nasarena.estimators.live.data import canonical_name
from nasarena.estimators.live.device_data import DeviceData, resolve_device
from nasarena.estimators.oneshot.macro_supernet import CONNECTIONS, build_macro_supernet
from nasarena.estimators.oneshot.oracle import SupernetOracle
from nasarena.estimators.oneshot.search import SupernetSearch
from nasarena.estimators.oneshot.settings import ARCH_STEP_METHODS, METHOD_MODES, SearchSettings
from nasarena.estimators.oneshot.supernet import Joint, gumbel_hard
from nasarena.spaces.base import Arch
from nasarena.spaces.macro.space import MacroSpace

#: The weight-step modes a macro supernet trains: one architecture per step; on ``chain`` also
#: GDAS's Gumbel sample, DARTS's joint relaxation and SETN's sampling (logits per decision).
MACRO_MODES = ("uniform", "controller", "gumbel", "joint", "sampled")


def macro_modes(space: MacroSpace) -> tuple[str, ...]:
    """The modes the supernet of ``space`` trains: the logit-based ones only on ``chain`` (its
    connection decisions are not relaxed on ``residual``)."""
    return MACRO_MODES if space.connection == "none" else MACRO_MODES[:2]


class MacroSupernetSearch(SupernetSearch):
    """A supernet search on a macro space: logits per decision (masked to its choices) on ``chain``."""

    def __init__(
        self,
        data: DeviceData,
        settings: SearchSettings,
        epochs: int,
        space: MacroSpace,
        width_mult: float,
        seed: int,
        *,
        score_images: int = 512,
    ) -> None:
        if settings.mode not in macro_modes(space):
            modes = ", ".join(m for m, k in METHOD_MODES.items() if k in macro_modes(space))
            raise StrategyError(
                f"the {space.name} supernet trains one architecture per step (methods {modes}), "
                f"not {settings.method!r} (mode {settings.mode!r})"
            )
        if epochs < 1:
            raise ConfigError(f"a supernet search needs epochs >= 1, got {epochs}")
        self.space = space
        init = torch.Generator().manual_seed(int(seed))
        net = build_macro_supernet(space, data.num_classes, width_mult, init)
        cards = space.cardinalities
        #: valid choices of the (decisions x most choices) logits; the rest are masked out
        self.mask = torch.arange(max(cards))[None, :] < torch.tensor(cards)[:, None]
        alphas = None
        if settings.method in ARCH_STEP_METHODS:  # architecture logits: 1e-3 * N(0, 1), as NB201's
            alphas = 1e-3 * torch.randn(self.mask.shape, generator=init) * self.mask
        self._arch_rng = np.random.default_rng([int(seed), 2])
        self._setup(data, settings, epochs, net, alphas, seed, score_images)
        self.mask = self.mask.to(data.device)

    def gumbel(self, alphas: torch.Tensor, tau: float) -> Any:
        """A straight-through Gumbel sample of one choice per decision that is a valid network (at most
        ``max_reductions`` strides of 2: resampled, up to 1000 times)."""
        logits = self._masked(alphas)
        for _ in range(1000):
            hard = gumbel_hard(logits, tau, self.gen)
            if self.space.is_valid(hard.index):
                return hard
        raise StrategyError(
            f"gdas on {self.space.name}: 1000 Gumbel samples in a row downsample more than "
            f"{self.space.max_reductions} times; the stride logits have collapsed"
        )

    def _masked(self, alphas: torch.Tensor) -> torch.Tensor:
        return alphas.masked_fill(~self.mask, -math.inf)

    def joint(self, alphas: torch.Tensor) -> Joint:
        """Softmax per decision over its valid choices (the others get weight 0)."""
        return Joint(F.softmax(self._masked(alphas), dim=-1))

    def _sampled_arch(self) -> Arch:
        """SETN's sample: one choice per decision from softmax(alphas), resampled (up to 1000 times)
        while it downsamples more than ``max_reductions`` times."""
        probs = F.softmax(self._masked(self.alphas.detach()), dim=-1)
        for _ in range(1000):
            arch = tuple(int(v) for v in torch.multinomial(probs, 1, generator=self.gen).view(-1).tolist())
            if self.space.is_valid(arch):
                return arch
        raise StrategyError(f"setn on {self.space.name}: 1000 samples in a row downsample more than "
                            f"{self.space.max_reductions} times; the stride logits have collapsed")

    def alpha_extras(self) -> dict[str, float]:
        """The logits of every decision's valid choices as ``alpha:<decision>:<choice>``."""
        if self.alphas is None:
            return {}
        a = self.alphas.detach().cpu().tolist()
        cards = self.space.cardinalities
        return {f"alpha:{d}:{c}": float(a[d][c]) for d, n in enumerate(cards) for c in range(n)}

    def _uniform_arch(self) -> Arch:
        """A uniform sample of the space (its own generator, seeded with the search)."""
        return tuple(int(v) for v in self.space.sample(self._arch_rng))


class MacroSupernetOracle(SupernetOracle):
    """A macro space's supernet as shared work; live retraining at ``final_fidelity`` as final metric."""

    name: ClassVar[str] = "macro-supernet"
    final_metric_name: ClassVar[str] = "test_acc_live"
    offers: ClassVar[frozenset[str]] = frozenset({MULTI_FIDELITY, SHARED, *map(supernet_mode, MACRO_MODES)})
    scoring_method: ClassVar[str] = "rsps"

    def __init__(
        self,
        dataset: str = "synthetic",
        *,
        space: str = "chain",
        max_layers: int | None = None,
        epochs: int = 50,
        width_mult: float = 0.5,
        resolution: int | None = None,
        device: str = "cpu",
        num_threads: int | None = None,
        score_images: int = 512,
        data_dir: str | None = None,
        synthetic_train: int = 4000,
        synthetic_valid: int = 100,
        synthetic_test: int = 100,
        synthetic_resolution: int = 16,
        synthetic_seed: int = 0,
        final_fidelity: Any = None,
        final_seed: int = 0,
        final_cache_dir: str | None = None,
        final_batch_size: int | None = None,
        quality_sample: int = 0,
        quality_seed: int = 0,
    ) -> None:
        from nasarena.registry import make_space

        self.dataset = canonical_name(dataset)
        layers = num(max_layers, int, "max_layers")
        built = make_space(str(space), **({} if layers is None else {"max_layers": layers}))
        if not isinstance(built, MacroSpace) or built.connection not in CONNECTIONS:
            raise ConfigError(f"macro-supernet holds the chain and residual spaces, got {space!r} (dense "
                              f"concatenates inputs: no single largest width per layer; the NB201 cell "
                              f"space has the 'supernet' oracle)")
        self.space = built
        self.epochs = num(epochs, int, "epochs")
        self.width_mult = num(width_mult, float, "width_mult")
        if self.epochs < 1 or not self.width_mult > 0:
            raise ConfigError(f"macro-supernet needs epochs >= 1 and width_mult > 0; got {self.epochs}, "
                              f"{self.width_mult}")
        self.fidelities = tuple(Fidelity(epochs=e) for e in range(1, self.epochs + 1))
        self.device = resolve_device(device)
        self.num_threads = default_threads(num_threads)
        self.score_images = num(score_images, int, "score_images")
        self._synthetic = synthetic_args(
            synthetic_train, synthetic_valid, synthetic_test, synthetic_resolution, synthetic_seed
        )
        self._data_dir = data_dir
        self._resolution = num(resolution, int, "resolution")
        if self._resolution is not None:
            self.space.check_resolution(self._resolution)
        self._final_args = {
            "fidelities": None if final_fidelity is None else [final_fidelity],
            "final_seed": num(final_seed, int, "final_seed"),
            "cache_dir": final_cache_dir,
            "batch_size": num(final_batch_size, int, "final_batch_size"),
        }
        self._live: Oracle | None = None
        self.best_final = math.nan
        self._data: DeviceData | None = None
        self._search: SupernetSearch | None = None
        self._valid: dict[Any, Arch] = {}
        # quality_sample > 0: at the end of a run, the supernet's ranking of that many architectures
        # against their live retraining at final_fidelity (the final metric; see end_of_run)
        self._init_quality(quality_sample, quality_seed)

    def data(self) -> DeviceData:
        """The training images on the device; their resolution must suit the space's reductions."""
        data = super().data()
        self.space.check_resolution(data.resolution)
        return data

    def _new_search(self, settings: SearchSettings, seed: int) -> SupernetSearch:
        return MacroSupernetSearch(
            self.data(), settings, self.epochs, self.space, self.width_mult, seed,
            score_images=self.score_images,
        )

    def capabilities(self) -> frozenset[str]:
        """ "shared" in the uniform and controller modes (and Gumbel on chain), plus "multi-fidelity"
        with several epochs."""
        return Oracle.capabilities(self) | {SHARED, *map(supernet_mode, macro_modes(self.space))}

    def _cost(self, arch: Arch) -> tuple[float, float]:
        """(params in millions, MFLOPs) of the sub-network as the supernet computes it."""
        data = self.data()
        size = {"width_mult": self.width_mult, "depth_limit": None}
        return self.space.model_cost(arch, data.num_classes, data.resolution, size)

    def params(self, arch: Arch) -> float:
        """Params (millions) of the sub-network at the supernet's width."""
        return self._cost(arch)[0]

    # ---- the final metric: a live retraining -----------------------------------------------------
    def live(self) -> Any:
        """The live oracle that retrains incumbents for the final metric (built on first use)."""
        if self._live is None:
            from nasarena.estimators.live.oracle import LiveOracle

            s = self._synthetic
            self._live = LiveOracle(
                self.dataset,
                self._final_args["fidelities"],
                data_dir=self._data_dir,
                cache_dir=self._final_args["cache_dir"],
                device=str(self.device),
                num_threads=self.num_threads,
                batch_size=self._final_args["batch_size"],
                final_seed=self._final_args["final_seed"],
                synthetic_train=s["n_train"],
                synthetic_valid=s["n_valid"],
                synthetic_test=s["n_test"],
                synthetic_resolution=s["resolution"],
                synthetic_seed=s["seed"],
                space=self.space,
            )
        return self._live

    def final_metric(self, arch: Arch) -> float:
        """Test accuracy (%) of ``arch`` retrained from scratch at ``final_fidelity`` (harness only)."""
        return float(self.live().final_metric(arch))

    def describe(self) -> dict[str, Any]:
        """What the supernet trains on, how weights are shared, and what the final metric is."""
        live = self.live()
        return {
            **Oracle.describe(self),
            "space_config": self.space.config(),
            "width_mult": self.width_mult,
            "epochs": self.epochs,
            "score_images": self.score_images,
            "quality_sample": self.quality_sample,
            "device": str(self.device),
            "weight_sharing": "per layer position one module per op at the largest width, channel slices "
            "[:c_out, :c_in]; stride a forward argument; BatchNorm with batch statistics, no affine",
            "search_metric_description": "accuracy (%) of the architecture with the supernet's shared "
            f"weights on fixed images of the architecture half of the {self.dataset} training split",
            "final_metric_description": f"test accuracy (%) of the architecture retrained from scratch by "
            f"the live oracle at {live.final_fidelity.key()} (seed {live.final_seed}) on {self.dataset}",
            "final_variant": live.variant,
            "cost": "measured seconds of supernet training (shared work) and of scoring forwards; the "
            "final metric's retraining is outside the clock",
        }


__all__ = ["MACRO_MODES", "MacroSupernetOracle", "MacroSupernetSearch", "macro_modes"]
