"""Our side of the report's confidence intervals: the t-based half-width, the SQL function
``t_quantile`` fed from scipy, the edge cases without an interval, and :func:`estimate` (the
intervals of the experiments) agreeing with the report's SQL."""

from __future__ import annotations

import math
import statistics

import duckdb
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st

from paysim_runner.report import (
    CELL_STATS_SQL,
    REPORT_METRICS,
    ci_half_width,
    estimate,
    register_sql_functions,
    student_t_quantile,
)

# Two-sided 95% critical values from standard tables (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2),
# six decimals, by degrees of freedom.
TABLE_0975 = {
    1: 12.706205, 2: 4.302653, 3: 3.182446, 4: 2.776445, 5: 2.570582, 9: 2.262157,
    10: 2.228139, 19: 2.093024, 29: 2.045230, 30: 2.042272, 60: 2.000298, 120: 1.979930,
}
T_0995_5 = 4.032143  # one-sided 99.5%, 5 dof: the 99% interval of six observations


def _t_quantile_sql(con: duckdb.DuckDBPyConnection, p: float | None, dof: int | None) -> float | None:
    (got,) = con.execute("SELECT t_quantile(?::DOUBLE, ?::BIGINT)", [p, dof]).fetchone()
    return got


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    with duckdb.connect() as con:
        register_sql_functions(con)
        yield con


@pytest.mark.parametrize(("dof", "expected"), sorted(TABLE_0975.items()))
def test_half_width_uses_the_table_t_with_n_minus_1_dof(dof: int, expected: float) -> None:
    n = dof + 1
    assert ci_half_width(1.0, n) == pytest.approx(expected / math.sqrt(n), abs=1e-6)


def test_half_width_scales_with_the_standard_deviation() -> None:
    assert ci_half_width(2.0, 30) == pytest.approx(2.045230 * 2 / math.sqrt(30), abs=1e-6)


def test_half_width_follows_the_confidence_level() -> None:
    assert ci_half_width(1.0, 6, confidence=0.99) == pytest.approx(T_0995_5 / math.sqrt(6), abs=1e-6)


@pytest.mark.parametrize("n", [0, 1])
def test_no_half_width_from_fewer_than_two_observations(n: int) -> None:
    assert ci_half_width(3.0, n) is None


def test_no_half_width_without_a_standard_deviation() -> None:
    assert ci_half_width(None, 4) is None


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=2, max_size=40),
    shift=st.floats(min_value=-1e6, max_value=1e6),
    scale=st.floats(min_value=1e-3, max_value=1e3),
)
def test_interval_is_shift_invariant_and_scales_with_the_data(values: list[float], shift: float, scale: float) -> None:
    def half(xs: list[float]) -> float:
        h = ci_half_width(statistics.stdev(xs), len(xs))
        assert h is not None
        return h

    base = half(values)
    assert base >= 0
    assert half([v + shift for v in values]) == pytest.approx(base, rel=1e-6, abs=1e-3)
    assert half([v * scale for v in values]) == pytest.approx(base * scale, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize(("p", "dof", "field"), [(0.0, 3, "p"), (1.0, 3, "p"), (0.5, 0, "dof"), (0.9, -1, "dof"),
                                                 (0.9, math.inf, "dof"), (math.nan, 3, "p"), (0.9, math.nan, "dof")])
def test_bad_arguments_name_the_argument(p: float, dof: float, field: str) -> None:
    """scipy answers NaN here; a NaN bound would pass silently into a report."""
    with pytest.raises(ValueError, match=rf"^{field}:"):
        student_t_quantile(p, dof)


def test_sql_function_is_scipys_quantile_over_a_range_of_dof(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute("SELECT d, t_quantile(0.975, d) FROM range(1, 2001) t(d) ORDER BY d").fetchall()
    dofs = [d for d, _ in rows]
    expected = scipy.special.stdtrit(dofs, 0.975)
    assert [q for _, q in rows] == expected.tolist()


@settings(max_examples=50, deadline=None)
@given(p=st.floats(min_value=1e-6, max_value=1 - 1e-6), dof=st.integers(min_value=1, max_value=100_000))
def test_sql_function_is_scipys_quantile_for_any_p(p: float, dof: int) -> None:
    with duckdb.connect() as con:
        register_sql_functions(con)
        assert _t_quantile_sql(con, p, dof) == float(scipy.special.stdtrit(dof, p))


@pytest.mark.parametrize("dof", [0, -1, -3])
def test_sql_function_is_null_without_degrees_of_freedom(con: duckdb.DuckDBPyConnection, dof: int) -> None:
    """n − 1 < 1: one run carries no information about spread."""
    assert _t_quantile_sql(con, 0.975, dof) is None


@pytest.mark.parametrize(("p", "dof"), [(None, 4), (0.975, None)])
def test_sql_function_is_null_on_null(con: duckdb.DuckDBPyConnection, p: float | None, dof: int | None) -> None:
    assert _t_quantile_sql(con, p, dof) is None


def test_sql_function_names_a_bad_probability(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(duckdb.Error, match="p: must be in"):
        _t_quantile_sql(con, 1.5, 4)


def test_estimate_of_one_value_has_a_mean_and_no_interval() -> None:
    e = estimate([0.4])
    assert (e.n, e.mean, e.sd, e.ci_low, e.ci_high, e.half_width) == (1, 0.4, None, None, None, None)


def test_estimate_clips_its_interval_to_the_range() -> None:
    e = estimate([0.9, 1.0, 1.0], clip=(0.0, 1.0))
    assert e.half_width is not None
    assert e.ci_high == 1.0
    assert e.ci_low == pytest.approx(e.mean - e.half_width)


def test_estimate_of_nothing_names_the_argument() -> None:
    with pytest.raises(ValueError, match=r"^values:"):
        estimate([])


@settings(max_examples=40, deadline=None)
@given(shares=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=30),
       costs=st.data())
def test_estimate_agrees_with_the_report_sql(shares: list[float], costs: st.DataObject) -> None:
    """The experiments' intervals (Python) and the report's (DuckDB) are one definition."""
    cost = costs.draw(st.lists(st.floats(min_value=0.0, max_value=1e9), min_size=len(shares), max_size=len(shares)))
    columns = {m: [0.0] * len(shares) for m in REPORT_METRICS} | {"settlement_rate": shares, "cost_total": cost}
    with duckdb.connect() as con:
        register_sql_functions(con)
        con.execute("CREATE TABLE runs AS SELECT 0 AS cell_id, printf('r%05d', row_number() OVER ()) AS run_id, * "
                    f"FROM "
                    f"(SELECT {', '.join(f'unnest(${m}) AS {m}' for m in REPORT_METRICS)})", columns)
        rows = {r[1]: r for r in con.execute(CELL_STATS_SQL).fetchall()}
    for metric, values, clip in (("settlement_rate", shares, (0.0, 1.0)), ("cost_total", cost, None)):
        e = estimate(values, clip=clip)
        _, _, n, mean, _, half, low, high = rows[metric]
        assert n == e.n
        assert mean == pytest.approx(e.mean, rel=1e-9, abs=1e-9)
        for sql_value, ours in ((half, e.half_width), (low, e.ci_low), (high, e.ci_high)):
            assert (sql_value is None) == (ours is None), metric
            if ours is not None:
                assert sql_value == pytest.approx(ours, rel=1e-6, abs=1e-6), metric
