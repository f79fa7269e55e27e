"""The forms layer (method §12): Form 8949 lines whose column (h) is the capital part only,
ordinary items on their lines per filer type, holding periods and boxes.

Hand-worked dispositions use the regulation's own examples (tests/regulation_examples.md), so
each Form 8949 figure can be followed from a printed number:

* (b)(7)(vi) Example 2 — sold for $630 with a $25 carryforward: amount realized $605, basis $600,
  a $5 gain that is interest (b)(8)(i): all ordinary, column (h) 0;
* (b)(7)(vi) Example 3 — retired at maturity, final payment $615 against $660 projected: the
  $10 carryforward left reduces the amount realized; no inclusions, so a $10 capital loss;
* (b)(8)(iv) Example 2 — sold at a $45 loss (all ordinary) or a $105 loss ($95 ordinary up to
  the inclusions, $10 capital);
* a sale after the last contingent payment: (b)(8)(iii)(A), the whole gain capital.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from builders import by_year, instrument, ledger, lot
from cpdi.engine.forms import (
    BOXES, Character, Term, anniversary, cents, default_basis_reported, description_of,
    form8949_box, form8949_line, holder_forms, holding_term, rounded_line,
)
from cpdi.model import BasisReported, FilerType
from cpdi.readers.form_lines import FormMappingError, load_form_mapping

MAPPING = load_form_mapping()
INDIVIDUAL = MAPPING.filer(FilerType.INDIVIDUAL)
CODES = MAPPING.adjustment_codes

Z_NOTE = instrument("1996-12-31", [("1997-12-31", 500.0), ("1998-12-31", 660.0)], 10.0)
E_NOTE = instrument("1996-12-31", [("1997-12-31", 0.0, "fixed"), ("1998-12-31", 1200.0)], 9.54,
                    accept_residual=True)
# one contingent payment in 1997, then only a fixed payment at maturity: after 31 Dec 1997 no
# contingent payment remains (b)(8)(iii)(A)
LATE_FIXED = instrument("1996-12-31", [("1997-12-31", 100.0), ("1998-12-31", 1000.0, "fixed")], 10.0,
                        accept_residual=True)


def line_of(inst, a_lot, paid=None, filer=INDIVIDUAL):
    result = ledger(inst, a_lot, paid)
    row = result.years[-1]
    return form8949_line(a_lot, row, "test", filer, CODES), row


def adds_up(line) -> bool:
    return line.proceeds - line.cost_basis + line.adjustment_amount == pytest.approx(line.gain_loss, abs=1e-9)


# --- hand-worked dispositions ------------------------------------------------------------------

def test_all_ordinary_gain_b7vi_example_2():
    """$630 proceeds, $600 basis, $25 carryforward → amount realized $605, gain $5 = interest.
    Form 8949: (d) 630, (e) 600, (g) −30 (−25 carryforward, −5 ordinary), code O, (h) 0."""
    line, row = line_of(Z_NOTE, lot("1996-12-31", 1000.0, sold="1998-01-01", proceeds=630.0),
                        {"1997-12-31": 375.0})
    assert row.ordinary_income_on_disposition == pytest.approx(5.0)
    assert line.proceeds == pytest.approx(630.0)
    assert line.cost_basis == pytest.approx(600.0)
    assert line.carryforward_applied == pytest.approx(25.0)
    assert line.ordinary_amount == pytest.approx(5.0)
    assert line.adjustment_amount == pytest.approx(-30.0)
    assert line.adjustment_code == "O"
    assert line.gain_loss == pytest.approx(0.0)
    assert line.term is Term.LONG  # 31 Dec 1996 to 1 Jan 1998
    assert adds_up(line)


def test_maturity_with_final_payment_below_projection_b7vi_example_3():
    """Retired at maturity: (d) is the *projected* $660 (b)(7)(iv), not the $615 paid (the $45
    shortfall is a negative adjustment of the year); (e) 660; the $10 carryforward left reduces
    the amount realized: (g) −10 code O, (h) −10 capital (no inclusions to make it ordinary)."""
    line, row = line_of(Z_NOTE, lot("1996-12-31", 1000.0), {"1997-12-31": 375.0, "1998-12-31": 615.0})
    assert row.ending == "maturity"
    assert line.date_sold == date(1998, 12, 31)
    assert line.proceeds == pytest.approx(660.0)
    assert line.cost_basis == pytest.approx(660.0)
    assert line.adjustment_amount == pytest.approx(-10.0)
    assert line.adjustment_code == "O"
    assert line.gain_loss == pytest.approx(-10.0)
    assert line.ordinary_amount == pytest.approx(0.0)
    assert adds_up(line)


def test_maturity_with_final_payment_above_projection_has_no_form_8949_gain():
    """Paid $700 against $660 projected: the $40 excess is a positive adjustment (interest of
    1998), not a gain: the 8949 line shows (d) 660 = (e) 660, nothing in (g) or (h)."""
    line, row = line_of(Z_NOTE, lot("1996-12-31", 1000.0), {"1997-12-31": 375.0, "1998-12-31": 700.0})
    assert row.interest_income == pytest.approx(75.0)
    assert (line.proceeds, line.adjustment_code) == (pytest.approx(660.0), "")
    assert line.gain_loss == pytest.approx(0.0, abs=1e-9)
    assert line.adjustment_amount == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("proceeds, ordinary, capital", [(1050.0, 45.0, 0.0), (990.0, 95.0, 10.0)],
                         ids=["$45 loss all ordinary", "$105 loss split $95 / $10"])
def test_loss_split_ordinary_and_capital_b8iv_example_2(proceeds, ordinary, capital):
    """Basis $1,095: the loss is ordinary up to the inclusions (b)(8)(ii); Form 8949 adds the
    ordinary part back in (g) (a positive adjustment, code O), so (h) is the capital loss only."""
    line, row = line_of(E_NOTE, lot("1996-12-31", 1000.0, sold="1998-01-01", proceeds=proceeds))
    assert line.cost_basis == pytest.approx(1095.0, abs=0.5)
    assert line.ordinary_amount == pytest.approx(-row.ordinary_loss_on_disposition)
    assert -line.ordinary_amount == pytest.approx(ordinary, abs=0.5)
    assert line.adjustment_amount == pytest.approx(row.ordinary_loss_on_disposition)
    assert line.adjustment_code == "O"
    assert -line.gain_loss == pytest.approx(capital, abs=0.5)
    assert line.gain_loss == pytest.approx(-row.capital_loss_on_disposition)
    assert adds_up(line)


def test_capital_gain_when_no_contingent_payment_remains_b8iii():
    """Sold in 1998 after the last contingent payment (31 Dec 1997): the gain is capital
    (b)(8)(iii)(A) — no adjustment, no code, (h) = (d) − (e)."""
    line, row = line_of(LATE_FIXED, lot("1996-12-31", 1000.0, sold="1998-06-30", proceeds=1200.0),
                        {"1997-12-31": 100.0})
    assert row.capital_gain_on_disposition > 0
    assert row.ordinary_income_on_disposition == 0.0
    assert line.adjustment_code == ""
    assert line.adjustment_amount == pytest.approx(0.0, abs=1e-9)
    assert line.gain_loss == pytest.approx(line.proceeds - line.cost_basis)
    assert line.gain_loss == pytest.approx(row.capital_gain_on_disposition)


def test_a_line_without_disposition_is_refused():
    result = ledger(Z_NOTE, lot("1996-12-31", 1000.0), {"1997-12-31": 375.0}, through=1997)
    with pytest.raises(ValueError, match="no disposition"):
        form8949_line(result.lot, result.years[-1], "x", INDIVIDUAL, CODES)


def test_rounded_line_still_adds_up_in_cents():
    line, _ = line_of(E_NOTE, lot("1996-12-31", 1000.0, sold="1998-01-01", proceeds=990.0))
    shown = rounded_line(line)
    for value in (shown.proceeds, shown.cost_basis, shown.adjustment_amount, shown.gain_loss):
        assert round(value, 2) == value
    assert round(shown.proceeds - shown.cost_basis + shown.adjustment_amount, 2) == shown.gain_loss
    assert cents(-0.001) == 0.0 and str(cents(-0.001)) == "0.0"
    assert cents(2.675) == 2.68 and cents(-2.675) == -2.68


# --- holding period and boxes --------------------------------------------------------------------

@pytest.mark.parametrize("acquired, sold, term", [
    ("2024-06-01", "2025-06-01", Term.SHORT),  # exactly one year: not more than one year
    ("2024-06-01", "2025-06-02", Term.LONG),
    ("2024-06-01", "2024-12-31", Term.SHORT),
    ("2024-02-29", "2025-02-28", Term.SHORT),  # leap day: one year has passed on 28 February
    ("2024-02-29", "2025-03-01", Term.LONG),
    ("2023-03-01", "2024-02-29", Term.SHORT),  # across a leap day, less than a year
    ("2023-03-01", "2024-03-01", Term.SHORT),
    ("2023-03-01", "2024-03-02", Term.LONG),
    ("2023-02-28", "2024-02-29", Term.LONG),  # the anniversary is 28 February 2024
])
def test_holding_term_more_than_one_year(acquired, sold, term):
    assert holding_term(date.fromisoformat(acquired), date.fromisoformat(sold)) is term


def test_anniversary_of_a_leap_day():
    assert anniversary(date(2024, 2, 29)) == date(2025, 2, 28)
    assert anniversary(date(2023, 7, 31)) == date(2024, 7, 31)


@pytest.mark.parametrize("term, reported, box", [
    (Term.SHORT, BasisReported.YES, "A"), (Term.SHORT, BasisReported.NO, "B"),
    (Term.SHORT, BasisReported.NO_1099, "C"), (Term.LONG, BasisReported.YES, "D"),
    (Term.LONG, BasisReported.NO, "E"), (Term.LONG, BasisReported.NO_1099, "F"),
])
def test_form_8949_box(term, reported, box):
    assert form8949_box(term, reported) == box


def test_default_basis_reported_follows_the_covered_security_dates_and_exempt_recipients():
    """A CPDI is not a "less complex" debt instrument: covered when acquired from 1 January
    2016; a corporation or an exempt organisation gets no Form 1099-B."""
    assert default_basis_reported(date(2016, 1, 1), INDIVIDUAL) is BasisReported.YES
    assert default_basis_reported(date(2015, 12, 31), INDIVIDUAL) is BasisReported.NO
    for filer_type in (FilerType.CORPORATION, FilerType.EXEMPT):
        assert default_basis_reported(date(2020, 1, 1), MAPPING.filer(filer_type)) is BasisReported.NO_1099
    for filer_type in (FilerType.TRUST, FilerType.PARTNERSHIP):
        assert default_basis_reported(date(2020, 1, 1), MAPPING.filer(filer_type)) is BasisReported.YES


def test_basis_reported_on_the_lot_overrides_the_default():
    from dataclasses import replace

    a_lot = replace(lot("2017-01-03", 1000.0, sold="2017-06-30", proceeds=1010.0, instrument_id="NOTE"),
                    basis_reported=BasisReported.NO_1099)
    inst = instrument("2017-01-03", [("2017-12-31", 0.0, "fixed"), ("2018-12-31", 1100.0)], 5.0,
                      accept_residual=True)
    line, _ = line_of(inst, a_lot)
    assert (line.term, line.box, line.basis_reported) == (Term.SHORT, "C", BasisReported.NO_1099)
    assert line.schedule_d_line == "Schedule D (Form 1040), line 3"


# --- each filer type's lines ---------------------------------------------------------------------

EXPECTED_INTEREST_LINE = {
    FilerType.INDIVIDUAL: "Schedule B (Form 1040), Part I, line 1",
    FilerType.TRUST: "Form 1041, line 1 (interest income)",
    FilerType.CORPORATION: "Form 1120, line 5 (interest)",
    FilerType.PARTNERSHIP: "Form 1065, Schedule K, line 5 (interest income)",
    FilerType.EXEMPT: "Form 990, Part VIII, line 3 (investment income)",
}


@pytest.mark.parametrize("filer_type", list(FilerType), ids=lambda f: f.value)
def test_each_filer_types_mapping(filer_type):
    filer = MAPPING.filer(filer_type)
    assert filer.line("interest_income").where == EXPECTED_INTEREST_LINE[filer_type]
    # (b)(8)(i): the gain on a disposition is interest, on the interest line
    assert filer.line("ordinary_income_on_disposition").where == EXPECTED_INTEREST_LINE[filer_type]
    assert filer.line("carryforward_out").character is Character.CARRIED
    assert set(filer.schedule_d) == set(BOXES)
    ordinary = {filer.line(i).where for i in ("interest_income", "ordinary_loss")}
    assert not ordinary & {line.where for line in filer.schedule_d.values()}


def test_holder_forms_totals_never_mix_characters_and_sum_lines():
    """A holder with a year of interest and a disposition: the interest line adds interest and
    the (b)(8)(i) gain; the ordinary loss line carries losses as negative amounts; Schedule D
    lines carry only Form 8949 column (h)."""
    a = lot("1996-12-31", 1000.0, sold="1998-01-01", proceeds=630.0, lot_id="A")
    b = lot("1996-12-31", 1000.0, sold="1998-01-01", proceeds=990.0, lot_id="B", instrument_id="E")
    e_note = instrument("1996-12-31", [("1997-12-31", 0.0, "fixed"), ("1998-12-31", 1200.0)], 9.54,
                        accept_residual=True, instrument_id="E")
    ledgers = [ledger(Z_NOTE, a, {"1997-12-31": 375.0}), ledger(e_note, b)]
    forms = holder_forms("H1", FilerType.INDIVIDUAL, 1998, ledgers, {"NOTE": "Z note", "E": "E note"}, MAPPING)
    assert [x.lot_id for x in forms.form8949] == ["A", "B"]
    by_where = {t.where: t for t in forms.totals}
    interest = by_where["Schedule B (Form 1040), Part I, line 1"]
    assert interest.items == ("interest_income", "ordinary_income_on_disposition")
    assert interest.amount == pytest.approx(5.0)  # 1998: no accrual (sold 1 Jan), the $5 gain
    other = by_where["Schedule 1 (Form 1040), line 8z (other income)"]
    assert other.character is Character.ORDINARY
    assert other.amount == pytest.approx(-forms.form8949[1].adjustment_amount)
    capital = [t for t in forms.totals if t.character is Character.CAPITAL]
    assert [t.box for t in capital] == ["E"]  # long term; acquired before 2016: basis not reported
    assert capital[0].amount == pytest.approx(sum(x.gain_loss for x in forms.form8949))
    assert capital[0].count == 2
    assert all(t.character in (Character.ORDINARY, Character.CAPITAL) for t in forms.totals)
    assert forms.total("E") == pytest.approx(capital[0].amount)


def test_holder_forms_leave_out_other_holders_and_other_years():
    a = lot("1996-12-31", 1000.0)
    result = ledger(Z_NOTE, a, {"1997-12-31": 375.0, "1998-12-31": 660.0})
    assert holder_forms("H2", FilerType.INDIVIDUAL, 1998, [result], {}, MAPPING).income == ()
    forms_1997 = holder_forms("H1", FilerType.INDIVIDUAL, 1997, [result], {}, MAPPING)
    assert forms_1997.form8949 == ()
    assert forms_1997.income[0].carryforward_out == pytest.approx(by_year(result)[1997].carryforward_out)


def test_description_leaves_out_a_reviewers_parenthetical_and_stays_short():
    a = lot("2020-01-01", 50_000.0, principal=50_000.0)
    assert description_of(a, "02687QCD8", "AIG CMS Curve Notes due 2027 (corrected typo)") == \
        "50,000 face 02687QCD8 AIG CMS Curve Notes due 2027"
    long = description_of(a, "X", "word " * 40)
    assert len(long) <= 80 and long.endswith("…")


# --- the mapping file ---------------------------------------------------------------------------

def _broken(tmp_path: Path, old: str, new: str) -> Path:
    from cpdi.readers.form_lines import DEFAULT_MAPPING

    text = DEFAULT_MAPPING.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "forms.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("old, new, key", [
    ("[exempt]\n", "[exempt_org]\n", "exempt_org"),
    ('ordinary = "O"', 'ordinary = "other"', "adjustment_codes.ordinary"),
    ('[individual.lines.ordinary_loss]\nform = "Schedule 1 (Form 1040)"\nline = "line 8z (other income)"\ncharacter = "ordinary"',
     '[individual.lines.ordinary_loss]\nform = "Schedule 1 (Form 1040)"\nline = "line 8z (other income)"\ncharacter = "capital"',
     "individual.lines.ordinary_loss.character"),
    ('F = "Schedule D (Form 1041), line 10"\n', "", "trust.schedule_d"),
    ("txf_ref = 492", 'txf_ref = "492"', "individual.lines.interest_income.txf_ref"),
    ('[trust.lines.interest_income]\nform = "Form 1041"\nline = "line 1 (interest income)"',
     '[trust.lines.interest_income]\nform = "Schedule D (Form 1041)"\nline = "line 1b"',
     "trust.lines.interest_income"),
    ("edition = \"2025\"", "edition = \"2025\"\nextra = 1", "extra"),
])
def test_a_broken_mapping_is_one_line_naming_the_key(tmp_path, old, new, key):
    with pytest.raises(FormMappingError) as caught:
        load_form_mapping(_broken(tmp_path, old, new))
    message = str(caught.value)
    assert f"key {key}:" in message and "\n" not in message


def test_a_missing_or_invalid_mapping_file(tmp_path):
    with pytest.raises(FormMappingError, match="no such file"):
        load_form_mapping(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[individual\n", encoding="utf-8")
    with pytest.raises(FormMappingError, match="not valid TOML"):
        load_form_mapping(bad)


def test_the_packaged_mapping_is_the_repositorys_file():
    from cpdi.readers.form_lines import DEFAULT_MAPPING

    assert DEFAULT_MAPPING.resolve() == (Path(__file__).resolve().parents[1] / "templates" / "forms.toml")
    assert MAPPING.edition == "2025"


# --- a broker's basis on the line (code B) -----------------------------------------------------

def test_box_a_or_d_line_shows_the_broker_basis_corrected_with_code_b():
    """Form 8949 instructions, code B: box A/D, enter the 1099-B basis in (e) and correct it in
    (g); (h) does not move.  (b)(8)(iv) Example 2's $990 sale: cpdi's basis $1,095; the broker
    reported the $1,000 cost."""
    from dataclasses import replace

    a_lot = replace(lot("1996-12-31", 1000.0, sold="1998-01-01", proceeds=990.0),
                    basis_reported=BasisReported.YES)
    row = ledger(E_NOTE, a_lot).years[-1]
    plain = form8949_line(a_lot, row, "x", INDIVIDUAL, CODES)
    corrected = form8949_line(a_lot, row, "x", INDIVIDUAL, CODES, broker_basis=1000.0)
    assert corrected.box == "D" and corrected.adjustment_code == "BO"
    assert corrected.cost_basis == 1000.0
    assert corrected.cpdi_basis == pytest.approx(plain.cost_basis)
    assert corrected.basis_adjustment == pytest.approx(1000.0 - plain.cost_basis)
    assert corrected.adjustment_amount == pytest.approx(plain.adjustment_amount + corrected.basis_adjustment)
    assert corrected.gain_loss == pytest.approx(plain.gain_loss)
    assert adds_up(corrected)
    # the same basis as cpdi's: nothing to correct
    same = form8949_line(a_lot, row, "x", INDIVIDUAL, CODES, broker_basis=plain.cost_basis + 0.001)
    assert (same.adjustment_code, same.basis_adjustment) == ("O", 0.0)


@pytest.mark.parametrize("reported", [BasisReported.NO, BasisReported.NO_1099])
def test_box_b_c_e_f_lines_keep_cpdis_basis(reported):
    """Box B/E (basis not reported) or C/F: the correct basis goes in (e); a broker figure is
    not used there."""
    from dataclasses import replace

    a_lot = replace(lot("1996-12-31", 1000.0, sold="1998-01-01", proceeds=990.0), basis_reported=reported)
    row = ledger(E_NOTE, a_lot).years[-1]
    line = form8949_line(a_lot, row, "x", INDIVIDUAL, CODES, broker_basis=1000.0)
    assert line.cost_basis == pytest.approx(row.adjusted_basis_end)
    assert "B" not in line.adjustment_code and line.basis_adjustment == 0.0


def test_broker_bases_reads_the_holders_1099b_box_1e_figures_of_the_year():
    from cpdi.engine.forms import broker_bases
    from cpdi.model import BrokerFigure

    figures = (
        BrokerFigure("H1", "N", 2025, "1099-B", "1e", 100.0, "L1"),
        BrokerFigure("H1", "N", 2025, "1099-B", "1d", 90.0, "L1"),
        BrokerFigure("H1", "N", 2024, "1099-B", "1e", 80.0, "L2"),
        BrokerFigure("H2", "N", 2025, "1099-B", "1e", 70.0, "L3"),
        BrokerFigure("H1", "N", 2025, "1099-OID", "1", 5.0, None),
    )
    assert broker_bases(figures, "H1", 2025) == {"L1": 100.0}


# --- trade dates (method §12) --------------------------------------------------------------------

# A 2-year note issued 2 January 2024; a lot bought and sold in between.
TRADED_NOTE = instrument("2024-01-02", [("2025-01-02", 50.0, "fixed"), ("2026-01-02", 1050.0)], 5.0,
                         accept_residual=True)


@pytest.mark.parametrize("bought, settled, sold, sale_settled, by_trade, by_settlement", [
    # one year from the trade dates has passed; from the settlement dates it has not
    ("2024-05-31", "2024-06-03", "2025-06-02", "2025-06-03", Term.LONG, Term.SHORT),
    # and the other way round
    ("2024-06-03", "2024-06-04", "2025-06-03", "2025-06-05", Term.SHORT, Term.LONG),
])
def test_trade_dates_are_the_dates_of_form_8949_and_its_term(bought, settled, sold, sale_settled,
                                                            by_trade, by_settlement):
    """Pub. 550: the holding period of a security traded on a market runs from the day after
    the purchase's trade date through the sale's trade date, settlement dates ignored.  Columns
    (b) and (c) and the box follow the trade dates where lots.csv gives them; the ledger keeps
    the settlement dates."""
    from dataclasses import replace

    settled_lot = lot(settled, 1000.0, sold=sale_settled, proceeds=1010.0)
    traded_lot = replace(settled_lot, acquisition_trade_date=date.fromisoformat(bought),
                         disposition_trade_date=date.fromisoformat(sold))
    plain, row = line_of(TRADED_NOTE, settled_lot)
    traded, traded_row = line_of(TRADED_NOTE, traded_lot)
    assert traded_row == row  # the ledger is the settlement dates'
    assert (plain.date_acquired, plain.date_sold, plain.term) == (
        date.fromisoformat(settled), date.fromisoformat(sale_settled), by_settlement)
    assert (traded.date_acquired, traded.date_sold, traded.term) == (
        date.fromisoformat(bought), date.fromisoformat(sold), by_trade)
    assert traded.box == form8949_box(by_trade, BasisReported.YES)
    assert (traded.proceeds, traded.cost_basis, traded.gain_loss) == (
        plain.proceeds, plain.cost_basis, plain.gain_loss)


def test_the_covered_security_date_is_the_trade_date():
    """A purchase traded on 30 December 2015 and settled on 4 January 2016 was acquired in 2015:
    a 1099-B without basis (box B or E) by the covered-security rules."""
    from dataclasses import replace

    a_lot = replace(lot("2016-01-04", 1000.0, sold="2017-06-30", proceeds=1010.0),
                    acquisition_trade_date=date(2015, 12, 30))
    note = instrument("2015-12-01", [("2016-12-01", 50.0, "fixed"), ("2017-12-01", 1050.0)], 5.0,
                      accept_residual=True)
    line, _ = line_of(note, a_lot)
    assert (line.date_acquired, line.basis_reported, line.box) == (date(2015, 12, 30), BasisReported.NO, "E")
