"""Degenerate instruments are that instrument's problem, named; everyone else still computes
(method §8).

A schedule that cannot be built or priced — a period rate of −100% or below, an ACT/ACT stub
whose notional periods would start before 0001-01-01, figures past the largest float, a
payment no yield can reach — used to raise (ZeroDivisionError, "year 0 is out of range") and
take every command down with it.  Each is now an INVALID (or FAILED) report whose reason
``describe`` prints, and the lots of every other instrument are computed and written.
"""

from __future__ import annotations

import csv
import math
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cpdi
from cpdi import api
from cpdi.cli import main
from cpdi.engine.daycount import DayCount
from cpdi.engine.holding import Ending, HoldingPeriod, held_segments
from cpdi.engine.schedule import AccrualSchedule
from cpdi.engine.validation import describe, implied_yield, validate_schedule
from cpdi.model import ComparableYield, Instrument, PaymentType, ProjectedPayment

D = date


def note(issue, rows, yield_pct, frequency=1, day_count=DayCount.THIRTY_360,
         issue_price=1000.0, unit_principal=1000.0, instrument_id="BAD") -> Instrument:
    """``rows`` are (period_end, projected_payment) from ``issue``, contiguous."""
    periods, start = [], issue
    for end, amount in rows:
        periods.append(ProjectedPayment(start, end, amount))
        start = end
    return Instrument(
        instrument_id, issue, periods[-1].period_end, issue_price, unit_principal,
        ComparableYield(yield_pct / 100.0, day_count, frequency), tuple(periods),
    )


# -- the table of nasty instruments -------------------------------------------------------------
# (id, instrument, status, fragments every one of which the report's text must contain)
NASTY = [
    (
        "two-year period at -50%",  # 1 + (-0.5 × 2) = 0: the old ZeroDivisionError
        note(D(2007, 7, 20), [(D(2009, 7, 20), 1000.0)], -50.0),
        "INVALID",
        ["period rate for 2007-07-20 → 2009-07-20", "-100%", "comparable yield -50%",
         "cannot discount", "2 years", "30/360", "check comparable_yield_pct"],
    ),
    (
        "two-year period at -50% ACT/365F",  # 731/365 years: -100.137%, below -100%
        note(D(2007, 7, 20), [(D(2009, 7, 20), 1000.0)], -50.0, day_count=DayCount.ACT_365F),
        "INVALID",
        ["period rate for 2007-07-20 → 2009-07-20", "-100.1369863%", "-100% or below",
         "ACT/365F"],
    ),
    (
        "a one-year period at -60% is fine, a two-year one is not",
        note(D(2020, 1, 1), [(D(2021, 1, 1), 10.0), (D(2023, 1, 1), 1000.0)], -60.0),
        "INVALID",
        ["period 2", "2021-01-01 → 2023-01-01", "-120%", "-100% or below"],
    ),
    (
        "payment the yield cannot reach",  # implied-yield search used to divide by zero
        note(D(2007, 7, 20), [(D(2009, 7, 20), 1e-300)], 5.0),
        "FAILED",
        ["does not produce the comparable yield", "implied yield none found", "period 1"],
    ),
    (
        "negative payment",
        note(D(2007, 7, 20), [(D(2009, 7, 20), -5.0)], 5.0),
        "FAILED",
        ["implied yield none found"],
    ),
    (
        "ACT/ACT stub in year 1",
        note(D(1, 1, 5), [(D(1, 3, 1), 1000.0)], 5.0, day_count=DayCount.ACT_ACT),
        "INVALID",
        ["period 1 (0001-01-05 → 0001-03-01)", "ACT/ACT", "before 0001-01-01",
         "check the period dates or the day_count"],
    ),
    (
        "ACT/ACT from the calendar's first day",
        note(D.min, [(D(1, 1, 2), 1000.0)], 5.0, day_count=DayCount.ACT_ACT),
        "INVALID",
        ["0001-01-01 → 0001-01-02", "before 0001-01-01"],
    ),
    (
        "payment overflows the float",
        note(D(2020, 1, 1), [(D(2020, 2, 1), 1e308), (D(2021, 1, 1), 1e308)], 5.0),
        "INVALID",
        ["overflow", "1.8e308", "check comparable_yield_pct, issue_price and the projected"],
    ),
    (
        "issue price overflows with the yield",
        note(D(2020, 1, 1), [(D(2021, 1, 1), 1.0), (D(2022, 1, 1), 1.0)], 99.0,
             issue_price=1.7e308),
        "INVALID",
        ["figures overflow in period 1 (2020-01-01 → 2021-01-01)", "1.7e+308", "99%"],
    ),
    (
        "a yield of 1,000,000% (the reader refuses it; the engine still names it)",
        note(D(2000, 1, 1), [(D(2000 + k, 1, 1), 1.0) for k in range(1, 101)], 1e6),
        "INVALID",
        ["figures overflow in period", "comparable yield 1000000%"],
    ),
    (
        "a yield of 1.7e308 percent overflows the period rate itself",
        note(D(2000, 1, 1), [(D(2400, 1, 1), 1.0)], 1.7e308),
        "INVALID",
        ["period rate for 2000-01-01 → 2400-01-01", "overflows", "400 years"],
    ),
]

# terms the reader refuses, which the engine (a public API) names as well
NASTY += [
    (
        "issue price of zero",
        note(D(2020, 1, 1), [(D(2021, 1, 1), 1050.0)], 5.0, issue_price=0.0),
        "INVALID",
        ["issue_price 0.0 is not a number above zero"],
    ),
    (
        "unit principal not a number",
        note(D(2020, 1, 1), [(D(2021, 1, 1), 1050.0)], 5.0, unit_principal=math.nan),
        "INVALID",
        ["unit_principal nan is not a number above zero"],
    ),
    (
        "frequency 3",
        note(D(2020, 1, 1), [(D(2021, 1, 1), 1050.0)], 5.0, frequency=3),
        "INVALID",
        ["frequency 3 is not 1, 2, 4 or 12"],
    ),
    (
        "an infinite payment",
        note(D(2020, 1, 1), [(D(2021, 1, 1), math.inf)], 5.0),
        "INVALID",
        ["period 1 (2020-01-01 → 2021-01-01): the projected payment inf is not a finite number"],
    ),
]

FINE_AT_THE_EDGES = [
    # the calendar's last day: a 30/360 year ending 9999-12-31, and an ACT/ACT stub near it
    note(D(9999, 1, 1), [(D(9999, 12, 31), 1050.0)], 5.0),
    note(D(9999, 11, 5), [(D(9999, 12, 30), 1000.0 * (1 + 0.05 * 55 / 365))], 5.0,
         day_count=DayCount.ACT_ACT),
    note(D(9998, 12, 31), [(D(9999, 12, 31), 1050.0)], 5.0, day_count=DayCount.ACT_ACT),
]


@pytest.mark.parametrize("label, inst, status, fragments", NASTY, ids=[c[0] for c in NASTY])
def test_nasty_instrument_is_named_not_raised(label, inst, status, fragments):
    report = validate_schedule(inst)
    assert report.status == status, describe(report)
    assert not report.usable
    if status == "INVALID":
        assert not report.structurally_valid and report.problems
    text = describe(report)
    assert text.startswith(f"BAD: {status}")
    for fragment in fragments:
        assert fragment in text, (fragment, text)


@pytest.mark.parametrize("inst", FINE_AT_THE_EDGES, ids=["30/360 to 9999-12-31",
                                                          "ACT/ACT stub to 9999-12-30",
                                                          "ACT/ACT year to 9999-12-31"])
def test_schedules_at_the_end_of_the_calendar_validate(inst):
    report = validate_schedule(inst)
    assert report.status == "OK", describe(report)
    assert AccrualSchedule(inst).interest_by_calendar_year()[9999] > 0.0


def test_implied_yield_stays_where_every_period_can_be_discounted():
    # a two-year period: below -50% a year its factor 1 + r × 2 is zero or negative; the
    # search stops short of it and reports no yield instead of dividing by zero
    unreachable = note(D(2007, 7, 20), [(D(2009, 7, 20), 1e-300)], 5.0)
    assert implied_yield(unreachable) is None
    # a root inside that domain is still found: 1000 = 640 / (1 + 2r) → r = -18%
    reachable = note(D(2007, 7, 20), [(D(2009, 7, 20), 640.0)], 5.0)
    assert implied_yield(reachable) == pytest.approx(-0.18, abs=1e-12)


def test_a_run_of_bad_periods_is_reported_once_with_a_count():
    inst = note(D(2020, 1, 1), [(D(2020 + 2 * k, 1, 1), 1.0) for k in range(1, 6)], -60.0)
    (problem,) = validate_schedule(inst).problems
    assert "period 1" in problem and "(and 4 later periods)" in problem


def test_held_segments_stop_at_the_last_day_of_the_calendar():
    inst = FINE_AT_THE_EDGES[0]
    holding = HoldingPeriod(D(9999, 6, 1), D.max, Ending.MATURITY, D.max)
    (segment,) = held_segments(AccrualSchedule(inst).periods, holding)
    assert (segment.first_day, segment.last_day, segment.days) == (D(9999, 6, 1), D.max, 214)


# -- validation never raises ---------------------------------------------------------------------

def _dates():
    return st.one_of(st.dates(), st.dates(max_value=D(1, 3, 1)), st.dates(min_value=D(9998, 11, 1)))


_FINITE = st.floats(allow_nan=False, allow_infinity=False)
_ABOVE_ZERO = st.floats(min_value=0.0, max_value=1.7e308, exclude_min=True)
# the reader accepts any finite yield above -100% up to its cap; the engine is public, so the
# property covers every finite yield above -100%, with plain ones drawn often
_YIELDS = st.one_of(
    st.floats(min_value=-100.0, max_value=100.0, exclude_min=True),
    st.floats(min_value=-100.0, max_value=1.7e308, exclude_min=True),
)


@st.composite
def instruments(draw) -> Instrument:
    """Any finite terms the reader could pass: dates anywhere in the calendar (often at its
    ends), periods of any length (sometimes empty, reversed, gapped or overlapping), any
    finite payments, price, unit, yield, day count and frequency."""
    issue = draw(_dates())
    periods, start = [], issue
    for _ in range(draw(st.integers(1, 6))):
        days = draw(st.one_of(st.integers(1, 400), st.integers(-3, 3), st.integers(1, 40_000)))
        try:
            end = start + timedelta(days=days)
        except OverflowError:
            end = D.max if days > 0 else D.min
        periods.append(ProjectedPayment(start, end, draw(_FINITE),
                                        draw(st.sampled_from(list(PaymentType)))))
        start = end if draw(st.integers(0, 9)) else draw(_dates())
    maturity = periods[-1].period_end if draw(st.integers(0, 9)) else draw(_dates())
    return Instrument(
        "ANY", issue, maturity, draw(_ABOVE_ZERO), draw(_ABOVE_ZERO),
        ComparableYield(draw(_YIELDS) / 100.0, draw(st.sampled_from(list(DayCount))),
                        draw(st.sampled_from([1, 2, 4, 12]))),
        tuple(periods),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instruments(), st.floats(min_value=0.0, max_value=1e6))
def test_validation_never_raises(inst, tolerance_per_1000):
    report = validate_schedule(inst, tolerance_per_1000)
    text = describe(report)
    assert text.startswith(f"ANY: {report.status}")
    if not report.structurally_valid:
        assert all(problem in text for problem in report.problems)
        return
    # what instrument_books does next with a sound schedule must not raise either
    schedule = AccrualSchedule(inst)
    assert all(math.isfinite(p.adjusted_issue_price_end) for p in schedule.periods)
    assert math.isfinite(report.present_value)
    schedule.interest_by_calendar_year()


# -- the whole input: a bad instrument among good ones ---------------------------------------------

BAD_INSTRUMENTS = {
    # id: (instruments row after the id, schedule rows, the reason validate must print)
    "BADNEG50": (
        "Two-year period at -50%,2007-07-20,2009-07-20,1000,1000,-50,1,30/360",
        ["2007-07-20,2009-07-20,1000,contingent"],
        "cannot discount this period of 2 years",
    ),
    "BADYEAR1": (
        "ACT/ACT stub in year 1,0001-01-05,0001-03-01,1000,1000,5,1,ACT/ACT",
        ["0001-01-05,0001-03-01,1000,contingent"],
        "before 0001-01-01",
    ),
    # read from a file, amounts past the largest float are refused by the readers first (above
    # 1e15: docs/formats.md); the engine's own overflow check is tested on the instrument above
    "BADHUGE": (
        "Payments past the largest float,2020-01-01,2021-01-01,1000,1000,5,1,ACT/365F",
        ["2020-01-01,2020-02-01,1e308,fixed", "2020-02-01,2021-01-01,1e308,fixed"],
        "is beyond any amount cpdi computes",
    ),
    "BADREACH": (
        "A payment no yield can reach,2007-07-20,2009-07-20,1000,1000,5,1,30/360",
        ["2007-07-20,2009-07-20,0.0000000001,contingent"],
        "does not produce the comparable yield",
    ),
}
READER_REFUSED = {"BADHUGE"}  # named when read, so never validated
BAD_HOLDER = "H-9001"
GOOD_HOLDERS = ("H-1001", "H-1002", "H-1003", "H-1004")


@pytest.fixture(scope="module")
def degenerate_input(tmp_path_factory) -> Path:
    """The bundled example plus every bad instrument above, each held by one lot of holder
    H-9001 (who also holds a good lot, so that holder fails while the others are written)."""
    folder = tmp_path_factory.mktemp("degenerate") / "input"
    shutil.copytree(cpdi.example_path(), folder)

    def append(name: str, lines: list[str]) -> None:
        path = folder / name
        text = path.read_text()
        path.write_text(text + ("" if text.endswith("\n") else "\n") + "\n".join(lines) + "\n")

    append("instruments.csv", [f"{iid},{row}" for iid, (row, _, _) in BAD_INSTRUMENTS.items()])
    append("schedule.csv", [f"{iid},{r}" for iid, (_, rows, _) in BAD_INSTRUMENTS.items()
                            for r in rows])
    append("holders.csv", [f"{BAD_HOLDER},Degenerate Holdings,,"])
    append("lots.csv", [
        f"{BAD_HOLDER},L-9{n:03d},{iid},1000,{rows[0].split(',')[0]},1000,,,,,"
        for n, (iid, (_, rows, _)) in enumerate(BAD_INSTRUMENTS.items())
    ] + [f"{BAD_HOLDER},L-9100,US00RANGE2032,1000,2020-06-30,1000,,,,,"])
    return folder


def test_bad_instruments_are_loaded_validated_and_named(degenerate_input):
    portfolio = api.load(degenerate_input)
    assert set(BAD_INSTRUMENTS) - READER_REFUSED <= set(portfolio.instruments), portfolio.problems
    for iid in READER_REFUSED:
        assert iid not in portfolio.instruments
        assert any(p.instrument_id == iid and BAD_INSTRUMENTS[iid][2] in p.message
                   for p in portfolio.problems), portfolio.problems
    reports = api.validate(portfolio)
    for iid, (_, _, reason) in BAD_INSTRUMENTS.items():
        if iid in READER_REFUSED:
            continue
        assert not reports[iid].usable
        assert reason in describe(reports[iid]), describe(reports[iid])
    for iid in ("02687QCD8", "US00EQLN2029", "US00RANGE2032"):
        assert reports[iid].status == "OK"


def test_cli_validate_names_each_and_checks_the_rest(degenerate_input, capsys):
    code = main(["validate", str(degenerate_input)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    for iid, (_, _, reason) in BAD_INSTRUMENTS.items():
        if iid in READER_REFUSED:
            assert reason in err, iid
            continue
        assert f"{iid}: " in out and reason in out, iid
    for iid in ("02687QCD8", "US00EQLN2029", "US00RANGE2032"):
        assert f"{iid}: OK" in out


def test_cli_compute_reports_the_bad_lots_and_computes_the_rest(degenerate_input, tmp_path, capsys):
    results = tmp_path / "results.csv"
    code = main(["compute", str(degenerate_input), "--through-year", "2025",
                 "--out", str(results), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    for n, iid in enumerate(BAD_INSTRUMENTS):
        # a lot on an instrument the readers refused is named by its row, pointing at the instrument
        assert (iid in READER_REFUSED or f"L-9{n:03d}" in err) and iid in err, (iid, err)
    rows = list(csv.DictReader(results.open()))
    computed = {row["lot_id"] for row in rows}
    assert {"L-0001", "L-0003", "L-0005", "L-0007", "L-9100"} <= computed
    assert not any(lot.startswith("L-90") for lot in computed)


def test_cli_workpapers_writes_every_good_holder(degenerate_input, tmp_path, capsys):
    out_dir = tmp_path / "wp"
    code = main(["workpapers", str(degenerate_input), "--year", "2025", "--out", str(out_dir),
                 "--workers", "1", "--quiet", "--prepared", "2026-02-01"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    written = {p.name for p in out_dir.glob("*.xlsx")}
    for holder in GOOD_HOLDERS:
        assert any(name.startswith(holder) for name in written), (holder, written)
    assert not any(name.startswith(BAD_HOLDER) for name in written)
    exceptions = "".join(p.read_text() for p in out_dir.glob("exceptions_*.csv"))
    for iid in BAD_INSTRUMENTS:
        assert iid in exceptions


# -- the last lines of defence in cpdi.api ----------------------------------------------------------

def test_unforeseen_error_in_one_instrument_is_its_failed_validation(monkeypatch):
    portfolio = api.load(cpdi.example_path())
    real = api.validate_schedule

    def flaky(instrument, *args, **kwargs):
        if instrument.instrument_id == "US00EQLN2029":
            raise OverflowError("math range error")
        return real(instrument, *args, **kwargs)

    monkeypatch.setattr(api, "validate_schedule", flaky)
    books = api.instrument_books(portfolio)
    broken = books["US00EQLN2029"]
    assert broken.schedule is None and broken.validation.status == "INVALID"
    assert "OverflowError: math range error" in describe(broken.validation)
    assert books["02687QCD8"].validation.status == "OK"
    assert books["US00RANGE2032"].validation.status == "OK"
    result = api.compute(portfolio, 2025, books=books)
    failed = {p.lot_id for p in result.problems if p.lot_id}
    assert failed == {lot.lot_id for lot in portfolio.lots if lot.instrument_id == "US00EQLN2029"}
    assert {l.lot.lot_id for l in result.ledgers} == {
        lot.lot_id for lot in portfolio.lots if lot.instrument_id != "US00EQLN2029"}


@pytest.mark.parametrize("error", [OverflowError("date value out of range"),
                                   ArithmeticError("bad"), ValueError("worse"),
                                   KeyError("unforeseen")])
def test_unforeseen_error_in_one_lot_is_that_lots_problem(monkeypatch, error):
    portfolio = api.load(cpdi.example_path())
    real = api.compute_lot

    def flaky(book, lot, through_year):
        if lot.lot_id == "L-0005":
            raise error
        return real(book, lot, through_year)

    monkeypatch.setattr(api, "compute_lot", flaky)
    result = api.compute(portfolio, 2025)
    (problem,) = [p for p in result.problems if p.lot_id == "L-0005"]
    assert "cannot compute lot L-0005" in problem.message
    assert str(error) in problem.message
    assert problem.holder_id == "H-1003" and problem.instrument_id == "US00RANGE2032"
    assert len(result.ledgers) == len(portfolio.lots) - 1
