"""The report's early-stopping section reads the run records: rule, tell policy, training saved."""

from __future__ import annotations

from nasarena.estimators.curves.summary import early_stopping_blocks, early_stopping_table


def record(strategy: str, rule: dict, tell: str, saved: float, ms: float | None) -> dict:
    return {"config": {"strategy": strategy},
            "strategy_config": {"rule": rule, "tell": tell, "trainings_started": 10, "trainings_stopped": 6,
                                "trainings_completed": 4, "fraction_epochs_saved": saved,
                                "mean_decision_ms": ms, "overhead_charged": False}}


def test_one_row_per_wrapped_strategy_with_what_it_was_told():
    meta = [record("es-domhan:random", {"predictor": "domhan", "mode": "fast", "delta": 0.05}, "predicted",
                   0.6, 100.0),
            record("es-domhan:random", {"predictor": "domhan", "mode": "fast", "delta": 0.05}, "predicted",
                   0.4, 120.0),
            record("es-median:random", {"rule": "median", "min_curves": 3}, "partial", 0.3, None),
            {"config": {"strategy": "random"}, "strategy_config": {}}]
    table = early_stopping_table(meta).set_index("strategy")
    assert list(table.index) == ["es-domhan:random", "es-median:random"]
    domhan = table.loc["es-domhan:random"]
    assert domhan["told about a stopped training"] == "predicted" and domhan["runs"] == 2
    assert domhan["epochs saved"] == "50.0 %" and domhan["ms per decision"] == "110.0"
    assert "P(final > best) < 0.05" in domhan["rule"] and domhan["overhead on the clock"] == "no"
    assert table.loc["es-median:random", "told about a stopped training"] == "partial"
    blocks = early_stopping_blocks(meta)
    assert blocks[0] == ("h2", "Early stopping") and blocks[-1][0] == "table"


def test_no_section_without_early_stopping_runs():
    assert early_stopping_blocks([{"config": {"strategy": "random"}, "strategy_config": {"x": 1}}]) == []
