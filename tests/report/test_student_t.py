"""The Student t quantile behind every confidence interval of the report."""

from __future__ import annotations

import math

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paysim_runner.report import ci_half_width, register_sql_functions, student_t_cdf, student_t_quantile

# Two-sided 95% critical values from standard tables (e.g. NIST/SEMATECH e-Handbook 1.3.6.7.2),
# six decimals, and one-sided 99.5% values.
TABLE_0975 = {
    1: 12.706205, 2: 4.302653, 3: 3.182446, 4: 2.776445, 5: 2.570582, 9: 2.262157,
    10: 2.228139, 19: 2.093024, 29: 2.045230, 30: 2.042272, 60: 2.000298, 120: 1.979930,
}
TABLE_0995 = {1: 63.656741, 5: 4.032143, 10: 3.169273, 29: 2.756386}

probabilities = st.floats(min_value=1e-6, max_value=1 - 1e-6)
dofs = st.integers(min_value=1, max_value=100_000)


@pytest.mark.parametrize(("dof", "expected"), sorted(TABLE_0975.items()))
def test_two_sided_95_critical_values_match_the_tables(dof: int, expected: float) -> None:
    assert student_t_quantile(0.975, dof) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("dof", "expected"), sorted(TABLE_0995.items()))
def test_99_percent_critical_values_match_the_tables(dof: int, expected: float) -> None:
    assert student_t_quantile(0.995, dof) == pytest.approx(expected, abs=1e-6)


def test_large_dof_tends_to_the_normal_quantile() -> None:
    assert student_t_quantile(0.975, 10**7) == pytest.approx(1.959963985, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(p=probabilities)
def test_one_dof_is_the_cauchy_closed_form(p: float) -> None:
    assert student_t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(p=probabilities)
def test_two_dof_closed_form(p: float) -> None:
    expected = (2 * p - 1) * math.sqrt(2 / (4 * p * (1 - p)))
    assert student_t_quantile(p, 2) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(p=probabilities, dof=dofs)
def test_quantile_inverts_the_cdf_and_is_antisymmetric(p: float, dof: int) -> None:
    t = student_t_quantile(p, dof)
    assert student_t_cdf(t, dof) == pytest.approx(p, rel=1e-9, abs=1e-12)
    assert student_t_quantile(1 - p, dof) == pytest.approx(-t, rel=1e-9, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(p1=probabilities, p2=probabilities, dof=dofs)
def test_quantile_increases_with_p(p1: float, p2: float, dof: int) -> None:
    lo, hi = sorted((p1, p2))
    assert student_t_quantile(lo, dof) <= student_t_quantile(hi, dof)


@settings(max_examples=100, deadline=None)
@given(dof=st.integers(min_value=1, max_value=5_000))
def test_upper_quantile_shrinks_as_dof_grows(dof: int) -> None:
    """Heavier tails with fewer degrees of freedom: wider intervals for smaller samples."""
    assert student_t_quantile(0.975, dof) > student_t_quantile(0.975, dof + 1) > 1.959963984


@pytest.mark.parametrize(("p", "dof", "field"), [(0.0, 3, "p"), (1.0, 3, "p"), (0.5, 0, "dof"), (0.9, -1, "dof"),
                                                 (0.9, math.inf, "dof"), (math.nan, 3, "p")])
def test_bad_arguments_name_the_argument(p: float, dof: float, field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}:"):
        student_t_quantile(p, dof)


def test_ci_half_width_uses_t_with_n_minus_1_dof() -> None:
    assert ci_half_width(1.0, 5) == pytest.approx(2.776445 / math.sqrt(5), abs=1e-6)
    assert ci_half_width(2.0, 30) == pytest.approx(2.045230 * 2 / math.sqrt(30), abs=1e-6)
    assert ci_half_width(3.0, 1) is None
    assert ci_half_width(None, 4) is None


@settings(max_examples=100, deadline=None)
@given(
    values=st.lists(st.floats(min_value=-1e6, max_value=1e6), min_size=2, max_size=40),
    shift=st.floats(min_value=-1e6, max_value=1e6),
    scale=st.floats(min_value=1e-3, max_value=1e3),
)
def test_interval_is_shift_invariant_and_scales_with_the_data(values: list[float], shift: float, scale: float) -> None:
    def half(xs: list[float]) -> float:
        n = len(xs)
        mean = sum(xs) / n
        sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
        h = ci_half_width(sd, n)
        assert h is not None and h >= 0
        return h

    base = half(values)
    assert half([v + shift for v in values]) == pytest.approx(base, rel=1e-6, abs=1e-3)
    assert half([v * scale for v in values]) == pytest.approx(base * scale, rel=1e-6, abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(p=st.floats(min_value=0.5, max_value=0.999), dof=st.integers(min_value=-3, max_value=300))
def test_sql_function_matches_python_and_is_null_without_dof(p: float, dof: int) -> None:
    with duckdb.connect() as con:
        register_sql_functions(con)
        (got,) = con.execute("SELECT t_quantile(?, ?)", [p, dof]).fetchone()
    if dof < 1:
        assert got is None
    else:
        assert got == pytest.approx(student_t_quantile(p, dof), rel=1e-12)
