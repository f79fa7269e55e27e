"""TXF (V042) for tax software: a holder's year written by cpdi.writers.forms.txf and parsed
back by a strict reader (tests/txf_reader.py).

The holder's 2022, worked by hand on the instruments of tests/test_ledger_scenarios.py
(ACT/ACT annual, 10%, issued 31 Dec 2020 at 1,000; a = 100 × 181/365 = 49.589041, the
interest of 1 January – 30 June 2022):

* L-INT   PAR held all year, paid as projected: interest 100.
* L-OL    STEP held, 2022 paid 150 of 300 projected: interest 0, ordinary loss 50
          (b)(6)(iii)(B).
* L-GAIN  PAR sold 1 July 2022 for 1,080: interest a; gain 80 − a = 30.41, all interest
          income (b)(8)(i); column (h) 0.
* L-SPLIT PAR sold 1 July 2022 for 800: interest a; loss 200 + a, ordinary up to the
          inclusions 100 + a = 149.59 (b)(8)(ii), capital 100.
* L-CAP   FIXED_TAIL sold 1 July 2022 for 1,080, no contingent payment left: interest a;
          gain 80 − a = 30.41, all capital (b)(8)(iii)(A).
"""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from builders import instrument, ledger, lot
from cpdi import __version__
from cpdi.engine.forms import Form8949Line, Term, holder_forms
from cpdi.model import BasisReported, FilerType
from cpdi.readers.form_lines import FormMappingError, load_form_mapping
from cpdi.writers.forms.form8949 import write_form8949_csv
from cpdi.writers.forms.income import write_income_csv
from cpdi.writers.forms.txf import (
    FORM8949_REFS, check_txf_mapping, form8949_record, holder_records, holder_txf_names, in_txf,
    txf_text, write_txf,
)
from txf_reader import parse_txf

YEAR = 2022
PREPARED = date(2023, 2, 15)
A = 100.0 * 181 / 365
PAR = instrument("2020-12-31", [("2021-12-31", 100.0), ("2022-12-31", 100.0),
                                ("2023-12-31", 1100.0)], 10.0, instrument_id="PAR")
STEP = instrument("2020-12-31", [("2021-12-31", 100.0), ("2022-12-31", 300.0),
                                 ("2023-12-31", 880.0)], 10.0, instrument_id="STEP")
FIXED_TAIL = instrument("2020-12-31", [("2021-12-31", 100.0), ("2022-12-31", 100.0, "fixed"),
                                       ("2023-12-31", 1100.0, "fixed")], 10.0,
                        instrument_id="FIXTAIL")
DESCRIPTIONS = {"PAR": "Par Note due 2023", "STEP": "Step Note due 2023 (illustrative)",
                "FIXTAIL": "Fixed Tail Note due 2023"}


def c(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


@pytest.fixture(scope="module")
def mapping():
    return load_form_mapping()


@pytest.fixture(scope="module")
def forms(mapping):
    ledgers = [
        ledger(PAR, lot("2020-12-31", 1000.0, lot_id="L-INT", instrument_id="PAR"),
               {"2021-12-31": 100.0, "2022-12-31": 100.0}, through=YEAR),
        ledger(STEP, lot("2020-12-31", 1000.0, lot_id="L-OL", instrument_id="STEP"),
               {"2021-12-31": 100.0, "2022-12-31": 150.0}, through=YEAR),
        ledger(PAR, lot("2020-12-31", 1000.0, sold="2022-07-01", proceeds=1080.0,
                        lot_id="L-GAIN", instrument_id="PAR"), {"2021-12-31": 100.0}),
        ledger(PAR, lot("2020-12-31", 1000.0, sold="2022-07-01", proceeds=800.0,
                        lot_id="L-SPLIT", instrument_id="PAR"), {"2021-12-31": 100.0}),
        ledger(FIXED_TAIL, lot("2020-12-31", 1000.0, sold="2022-07-01", proceeds=1080.0,
                               lot_id="L-CAP", instrument_id="FIXTAIL"), {"2021-12-31": 150.0}),
    ]
    return holder_forms("H1", FilerType.INDIVIDUAL, YEAR, ledgers, DESCRIPTIONS, mapping)


@pytest.fixture(scope="module")
def written(forms, mapping, tmp_path_factory):
    """The holder's TXF file and both CSV files, written by the writers the command uses."""
    folder = tmp_path_factory.mktemp("forms")
    records = holder_records(forms, mapping.filer(forms.filer_type), DESCRIPTIONS)
    assert write_txf(folder / "h1.txf", records, PREPARED, f"cpdi {__version__}") == len(records)
    write_form8949_csv([forms], folder / "form8949.csv")
    write_income_csv([forms], folder / "income.csv")
    read = lambda name: list(csv.DictReader((folder / name).open(encoding="utf-8")))  # noqa: E731
    text = (folder / "h1.txf").read_bytes().decode("ascii")
    return parse_txf(text), read("form8949.csv"), read("income.csv")


def test_header(written):
    txf, _, _ = written
    assert txf.version == "V042"
    assert txf.program == f"cpdi {__version__}"
    assert txf.exported == PREPARED


def test_records_in_order_with_their_formats(written):
    """Interest (492) and the (b)(8)(i) gain (287) as format 3 summary records, $ then payer;
    the ordinary losses (257) as format 1 detail records with an X line, then their summary;
    then the sales (323, box D) as format 5 detail records."""
    txf, _, _ = written
    layout = [(r.refnum, r.kind, r.line, r.codes) for r in txf.records]
    assert layout == [
        (492, "S", 1, "$P"), (492, "S", 2, "$P"),
        (287, "S", 1, "$P"),
        (257, "D", 1, "$X"), (257, "D", 1, "$X"), (257, "S", 1, "$"),
        (323, "D", 1, "PDD$$$"), (323, "D", 1, "PDD$$$"), (323, "D", 1, "PDD$$$"),
    ]
    assert all(r.copy == 1 for r in txf.records)


def test_ordinary_items_by_hand(written):
    txf, _, _ = written
    par, fixed = txf.by_refnum(492)
    assert (par.amount, par.values("P")) == (c(100 + 2 * A), ["PAR Par Note due 2023"])
    assert (fixed.amount, fixed.values("P")) == (c(A), ["FIXTAIL Fixed Tail Note due 2023"])
    (gain,) = txf.by_refnum(287)
    assert gain.amount == c(80 - A) == Decimal("30.41")
    assert gain.values("P") == ["PAR Par Note due 2023 (gain on disposition)"]
    loss, disposition, total = txf.by_refnum(257)
    assert loss.amount == Decimal("-50.00")
    assert loss.values("X") == ["CPDI ordinary loss, net negative adjustment, Treas. Reg. "
                                "1.1275-4(b)(6)(iii)(B): STEP Step Note due 2023"]
    assert disposition.amount == -c(100 + A) == Decimal("-149.59")
    assert "1.1275-4(b)(8)(ii)" in disposition.values("X")[0]
    assert total.amount == loss.amount + disposition.amount


def test_sales_by_hand_and_sales_less_cost_is_column_h(written):
    """Every Form 8949 record: dates, sales net = column (d), cost = cost_basis −
    adjustment_amount, and sales − cost = column (h) to the cent; the wash-sale field empty."""
    txf, rows, _ = written
    sales = txf.by_refnum(323)
    assert [r["lot_id"] for r in rows] == ["L-GAIN", "L-SPLIT", "L-CAP"]
    for record, row in zip(sales, rows, strict=True):
        assert record.dates == [date(2020, 12, 31), date(2022, 7, 1)]
        assert record.sales == Decimal(row["proceeds"])
        assert record.cost == Decimal(row["cost_basis"]) - Decimal(row["adjustment_amount"])
        assert record.gain == Decimal(row["gain_loss"])
        assert record.amounts[2] is None
        assert record.security == row["description"]
    gain, split, capital = sales
    assert (gain.sales, gain.cost, gain.gain) == (Decimal("1080.00"), Decimal("1080.00"), 0)
    assert (split.sales, split.cost, split.gain) == (Decimal("800.00"), Decimal("900.00"),
                                                     Decimal("-100.00"))
    assert (capital.sales, capital.gain) == (Decimal("1080.00"), c(80 - A))
    assert [r["adjustment_code"] for r in rows] == ["O", "O", ""]


def test_per_refnum_sums_equal_the_csv_totals(written):
    txf, rows, income = written

    def total(column):
        return sum(Decimal(r[column]) for r in income)

    def summaries(refnum):
        return sum(r.amount for r in txf.by_refnum(refnum, "S"))

    assert summaries(492) == total("interest_income")
    assert summaries(287) == total("ordinary_income_on_disposition")
    assert summaries(257) == -(total("ordinary_loss") + total("ordinary_loss_on_disposition"))
    assert summaries(257) == sum(r.amount for r in txf.by_refnum(257, "D"))
    assert sum(r.gain for r in txf.by_refnum(323)) == sum(Decimal(r["gain_loss"]) for r in rows)


REPORTED = {"A": BasisReported.YES, "B": BasisReported.NO, "C": BasisReported.NO_1099,
            "D": BasisReported.YES, "E": BasisReported.NO, "F": BasisReported.NO_1099}


@pytest.mark.parametrize("box, refnum", [("A", 321), ("B", 711), ("C", 712), ("D", 323),
                                         ("E", 713), ("F", 714)])
def test_each_box_goes_under_its_reference_number(mapping, box, refnum):
    line = Form8949Line(
        "H1", "L1", "PAR", "1,000 face PAR", date(2021, 3, 1), date(2022, 6, 1), 1000.0, 990.0,
        "", 0.0, 10.0, Term.LONG if box in "DEF" else Term.SHORT, box,
        basis_reported=REPORTED[box])
    record = form8949_record(line, mapping.filer(FilerType.INDIVIDUAL), "", None)
    assert record.refnum == refnum == FORM8949_REFS[box]
    assert (record.kind, record.fields[-3:]) == ("D", ("$990.00", "$1000.00", "$"))


def test_only_the_individual_return_is_imported_by_txf(mapping):
    assert [f.value for f, filer in mapping.filers.items() if in_txf(filer)] == ["individual"]


def _with_individual(mapping, **changes):
    filer = mapping.filer(FilerType.INDIVIDUAL)
    return replace(mapping, filers={**mapping.filers, FilerType.INDIVIDUAL: replace(filer, **changes)})


def test_mapping_checks_name_the_key(mapping):
    check_txf_mapping(mapping)  # the packaged mapping passes
    filer = mapping.filer(FilerType.INDIVIDUAL)
    cases = {
        "individual.txf_boxes.A": dict(txf_boxes={**filer.txf_boxes, "A": 323}),
        "individual.lines.ordinary_loss.txf_ref": dict(
            lines={**filer.lines, "ordinary_loss": replace(filer.line("ordinary_loss"), txf_ref=None)}),
        "individual.lines.interest_income.txf_ref": dict(
            lines={**filer.lines, "interest_income": replace(filer.line("interest_income"), txf_ref=999)}),
        "individual.lines.carryforward_out.txf_ref": dict(
            lines={**filer.lines, "carryforward_out": replace(filer.line("carryforward_out"), txf_ref=257)}),
    }
    for key, changes in cases.items():
        with pytest.raises(FormMappingError) as caught:
            check_txf_mapping(_with_individual(mapping, **changes))
        assert caught.value.key == key
        assert "\n" not in str(caught.value)
    trust = mapping.filer(FilerType.TRUST)
    lines = {**trust.lines, "interest_income": replace(trust.line("interest_income"), txf_ref=492)}
    with pytest.raises(FormMappingError, match="trust.lines.interest_income.txf_ref"):
        check_txf_mapping(replace(mapping, filers={**mapping.filers,
                                                   FilerType.TRUST: replace(trust, lines=lines)}))


def test_text_is_one_ascii_line_without_a_full_tin():
    text = txf_text("Zürich “CMS” note — 2027\n=HYPERLINK(1)\x00\t123-45-6789 ＯＫ", 200)
    assert text == 'Zurich "CMS" note - 2027 =HYPERLINK(1) *****6789 OK'
    # the holder's own TIN in another spelling, and digits in another script
    assert txf_text("held for 987.65.4321", 80, tin="987-65-4321") == "held for *****4321"
    assert "4321" in txf_text("id ９８７６５４３２１", 80) and "98765" not in txf_text("id ９８７６５４３２１", 80)
    # a cut never leaves a TIN-shaped run of digits: 10 digits are an account, 9 a TIN
    cut = txf_text("x" * 70 + " 1234567890123", 81)
    assert cut.endswith("...") and "123456789" not in cut and len(cut) <= 81


def test_holder_file_names_are_safe_and_masked():
    names = holder_txf_names(["H-1", "h-1", "123-45-6789", "../x"], 2025,
                             {"123-45-6789": "123-45-6789"})
    assert names["H-1"] != names["h-1"]
    assert all(name.endswith("_2025.txf") and "/" not in name for name in names.values())
    assert "123-45-6789" not in names["123-45-6789"] and "6789" in names["123-45-6789"]
    assert not names["../x"].startswith(".")


def test_a_tin_in_a_description_never_reaches_the_file(forms, mapping, tmp_path):
    leaky = replace(forms, form8949=tuple(
        replace(line, description="note of 123-45-6789\r\nN999") for line in forms.form8949))
    records = holder_records(leaky, mapping.filer(FilerType.INDIVIDUAL), {"PAR": "by 123456789"})
    write_txf(tmp_path / "x.txf", records, PREPARED, "cpdi")
    text = (tmp_path / "x.txf").read_bytes().decode("ascii")
    assert "123-45-6789" not in text and "123456789" not in text
    txf = parse_txf(text)  # the line break did not start a record or a field
    assert [r.refnum for r in txf.records].count(999) == 0
    assert txf.by_refnum(323)[0].security == "note of *****6789 N999"
