"""``cpdi import-terms``: a pricing supplement to ``instruments.csv``, ``schedule.csv`` and, when
the document prints one, ``issuer_accruals.csv`` (docs/formats.md, "cpdi import-terms").

The document reader (:mod:`cpdi.readers.terms_document`) finds the figures and the words each
came from; this module turns them into one instrument as cpdi reads it:

1. the command's options supply what the document lacks (``--id``, ``--issue-date``,
   ``--issue-price``) or override what it prints (said in a note); ``--id`` also chooses the
   note when the document gives several notes' tax figures; anything still missing is an
   error naming the option, or saying the document must state it, and nothing is written;
2. the projected payment schedule is the printed table of periods, or of payment dates (each
   period starting at the previous date, the first at the issue date), or — for "a single
   payment at maturity" — that payment on a grid of accrual periods: the periods of the
   issuer's OID table when it runs from issue to maturity at the compounding frequency,
   otherwise periods rolled back from maturity at the compounding frequency (method §2, "How
   cpdi builds the grid"); amounts printed per another amount than the unit principal (a
   percentage of the principal amount) are scaled to it, and that is said;
3. when the document prints an OID table, the conventions that reproduce it are searched
   (method §11) and the instrument takes them;
4. the schedule is validated (method §8) — a printed typo is imported as printed and named.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from cpdi.engine.daycount import AmbiguousDayCount, DayCount
from cpdi.engine.issuer_table import ConventionSearch, find_convention
from cpdi.engine.schedule_builder import (
    AccrualGrid, Anchor, ScheduleBuildError, accrual_period_dates, projected_schedule,
)
from cpdi.engine.validation import DEFAULT_TOLERANCE_PER_1000, ScheduleValidation, validate_schedule
from cpdi.model import (
    ComparableYield, DailyPortionBasis, Instrument, IssuerAccrual, PaymentType, ProjectedPayment,
)
from cpdi.problems import CpdiError
from cpdi.readers.terms_document import TermsDocument, read_terms_document

INSTRUMENT_COLUMNS = ("instrument_id", "description", "issue_date", "maturity_date", "issue_price",
                      "unit_principal", "comparable_yield_pct", "frequency", "day_count")
"""The instruments.csv columns written (``daily_portion_basis`` is added when it is not the
default, and ``source_document``, the document's file name, last)."""

_FREQUENCY_WORDS = {1: "annual", 2: "semiannual", 4: "quarterly", 12: "monthly"}


class TermsImportError(CpdiError):
    """The document lacks what an instrument needs; ``problems`` are one line each, naming the
    option that supplies the figure or saying that the document must state it."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


@dataclass
class ImportedTerms:
    """One imported instrument: what is written, where each figure came from, and what was
    assumed or decided."""

    document: TermsDocument
    instrument: Instrument
    instrument_row: dict[str, str]
    schedule_rows: list[dict[str, str]]
    accrual_rows: list[dict[str, str]]
    validation: ScheduleValidation
    search: ConventionSearch | None = None
    notes: list[str] = field(default_factory=list)  # options used, assumptions, decisions


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(str(text).replace(",", "").replace("$", "").strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _plain(value: Decimal) -> str:
    """A decimal as plain text, trailing zeros kept as printed ("45.0000" stays)."""
    return format(value, "f")


def _per_unit(printed: str, quoted_per: str | None, unit: Decimal) -> Decimal:
    """A printed amount per unit of principal: as printed, or — when it is quoted per another
    amount (``quoted_per``: "100" for a percentage of the principal amount) — scaled by
    unit / quoted_per; a power-of-ten scale keeps the printed digits, so the printed precision
    stays known (2.5000% of 1,000 is 25.000)."""
    amount = _decimal(printed)
    per = _decimal(quoted_per) if quoted_per else None
    if amount is None or per is None or per <= 0 or per == unit:
        return amount
    scale = unit / per
    power = scale.adjusted()
    if scale == Decimal(1).scaleb(power):
        return amount.scaleb(power)
    return amount * scale


def _basis_note(pers, unit: Decimal, what: str) -> str | None:
    """Say that printed amounts quoted per another amount than the unit principal (``pers``:
    the ``per`` of each) were scaled to it, or None."""
    pers = {_decimal(p) for p in pers if p}
    pers.discard(unit)
    if not pers:
        return None
    per = pers.pop()
    quoted = ("per 100 of principal (percentages of the principal amount)" if per == 100
              else f"per {_plain(per.normalize())} of principal")
    return (f"the {what} is printed {quoted}: its amounts are scaled × "
            f"{_plain(unit.normalize())}/{_plain(per.normalize())} to the unit principal "
            f"{_plain(unit.normalize())}")


def _inferred_frequency(rows) -> int | None:
    """Periods a year from the printed periods' lengths (the most common spacing in months).
    A table by calendar year (every period but the last ending on 31 December) says how the
    issuer reports, not how the yield compounds: None."""
    ends = [r.period_end for r in rows]
    if len(ends) >= 3 and all((e.month, e.day) == (12, 31) for e in ends[:-1]):
        return None
    return _spacing(rows)


def _spacing(rows) -> int | None:
    """Periods a year of the printed periods: the most common spacing of their ends in months
    (12, 6, 3 or 1), else None."""
    ends = [r.period_end for r in rows]
    if len(ends) < 2:
        return None
    months = [(b.year - a.year) * 12 + b.month - a.month for a, b in zip(ends, ends[1:])]
    common = max(set(months), key=months.count)
    return {12: 1, 6: 2, 3: 4, 1: 12}.get(common)


def import_terms(path, issue_date: date | None = None, issue_price: str | None = None,
                 instrument_id: str | None = None) -> ImportedTerms:
    """Read the document at ``path`` and build its instrument (see the module docstring).
    Raises :class:`TermsImportError` listing every missing figure, or
    :class:`cpdi.readers.terms_document.TermsDocumentError` for an unreadable file."""
    doc = read_terms_document(path, instrument_id)  # --id also chooses among several notes
    notes: list[str] = []
    missing: list[str] = []

    def chosen(name, option, given, found, show=str):
        if given is not None:
            if found is not None and show(found) != show(given):
                notes.append(f"{name}: {option} {show(given)} used; the document prints {show(found)}")
            elif found is None:
                notes.append(f"{name}: {show(given)} from {option} (not in the document)")
            return given
        if found is None:
            missing.append(f"no {name.replace('_', ' ')} found in the document: give it with {option}")
        return found

    iid = chosen("instrument_id", "--id", instrument_id, doc.instrument_id)
    issue = chosen("issue_date", "--issue-date", issue_date, doc.issue_date, lambda d: d.isoformat())
    unit = _decimal(doc.unit_principal) if doc.unit_principal else None
    if unit is None or unit <= 0:
        unit = Decimal(1000)
        notes.append("assumed: unit_principal 1000 — the document does not say per what principal "
                     "amount the schedule is quoted; check it")
    price_text = chosen("issue_price", "--issue-price", issue_price, doc.issue_price)
    price = _decimal(price_text) if price_text is not None else None
    if price_text is not None and (price is None or price <= 0):
        missing.append(f"issue price {price_text!r} is not a positive number: give it with --issue-price")
    yield_pct = _decimal(doc.comparable_yield_pct) if doc.comparable_yield_pct else None
    if yield_pct is None:
        missing.append("no comparable yield found in the document: the tax section must state it "
                       "(\"the comparable yield … is X%\"); enter the instrument by hand otherwise")
    if not doc.schedule and doc.single_payment is None:
        missing.append("no projected payment schedule found in the document (a table of periods or "
                       "payment dates, or a single payment at maturity); enter it by hand or with "
                       "cpdi build-schedule")
    maturity = doc.maturity_date
    if maturity is None and doc.schedule:
        maturity = doc.schedule[-1].period_end
        notes.append(f"assumed: maturity_date {maturity} — the last date of the projected schedule; "
                     "the document prints no maturity date")
    if maturity is None:
        missing.append("no maturity date found in the document; enter the instrument by hand")
    if missing:
        raise TermsImportError(doc.source_name, missing)

    day_count, day_count_candidates = _day_count(doc, notes)
    frequency = doc.frequency or _inferred_frequency(doc.schedule) or _inferred_frequency(doc.accruals)
    if frequency is None:
        frequency = 2
        notes.append("assumed: frequency 2 (semiannual compounding) — the document states no "
                     "compounding and its tables do not show one")
    elif doc.frequency is None:
        notes.append(f"assumed: frequency {frequency} — read from the spacing of the printed "
                     "periods; the document states no compounding")

    for pers, what in (([r.per for r in doc.schedule], "projected payment schedule"),
                       ([doc.single_payment_per], "single payment at maturity"),
                       ([r.per for r in doc.accruals], "issuer's accrual table")):
        note = _basis_note(pers, unit, what)
        if note:
            notes.append(note)
    accruals = _accrual_rows(doc, iid, unit)
    payments = _projected_payments(doc, issue, maturity, frequency, accruals, notes, unit)
    instrument = Instrument(
        instrument_id=iid, issue_date=issue, maturity_date=maturity, issue_price=float(price),
        unit_principal=float(unit),
        comparable_yield=ComparableYield(float(yield_pct) / 100.0, day_count, frequency),
        projected_payments=payments, description=doc.description or "",
        source_document=doc.source_name,  # the workpaper's [S] tick names it
    )
    search = None
    if day_count_candidates and not accruals:
        instrument = _closing_day_count(instrument, day_count_candidates, notes)
    elif day_count_candidates:
        notes.append("the document states no day count cpdi can use: the issuer's OID table "
                     "decides it (below)")
    if accruals:
        search = find_convention(instrument, accruals)
        if search.entered_agrees:
            notes.append(f"the issuer's OID table agrees ({len(accruals)} row(s) at the printed "
                         "decimals)")
        elif search.best is not search.entered:
            words = "reproduces" if search.reproduced else "comes closest to"
            notes.append(f"{search.best.convention.describe(instrument)} {words} the issuer's OID "
                         "table (method §11); the instrument carries it")
            instrument = search.best_instrument()
            if not search.reproduced:
                notes.append(f"{len(search.best.disagreeing)} row(s) of the issuer's table still "
                             "differ: cpdi validate lists them")
        else:
            notes.append("no convention reproduces the issuer's OID table: cpdi validate lists the "
                         "rows that differ")
    validation = validate_schedule(instrument, DEFAULT_TOLERANCE_PER_1000, None)
    return ImportedTerms(
        document=doc, instrument=instrument,
        instrument_row=_instrument_row(instrument, yield_pct, price, unit),
        schedule_rows=_schedule_rows(instrument, doc, unit),
        accrual_rows=[{"instrument_id": iid, "period_start": a.period_start.isoformat(),
                       "period_end": a.period_end.isoformat(),
                       "accrued_per_unit": _plain(_per_unit(doc.accruals[a.row - 2].amount,
                                                            doc.accruals[a.row - 2].per, unit))}
                      for a in accruals],
        validation=validation, search=search, notes=notes + list(_assumptions(doc)),
    )


def _assumptions(doc: TermsDocument):
    for line in doc.assumptions:
        yield f"assumed: {line}"


_ACT_365_READINGS = (DayCount.ACT_365F, DayCount.ACT_ACT_ISDA)


def _day_count(doc: TermsDocument, notes: list[str]) -> tuple[DayCount, tuple[DayCount, ...]]:
    """The document's day count, and the candidates when it states none cpdi can use (all of
    them; the two readings of an ambiguous ``Actual/365``)."""
    if doc.day_count:
        try:
            return DayCount.parse(doc.day_count), ()
        except AmbiguousDayCount as error:
            notes.append(f"the document's day count: {error}")
            return DayCount.ACT_365F, _ACT_365_READINGS
        except ValueError as error:
            notes.append(f"the document's day count: {error}")
    if doc.day_count is None and any("365" in a and "mbiguous" in a for a in doc.assumptions):
        return DayCount.ACT_365F, _ACT_365_READINGS  # the reader saw an ambiguous Actual/365
    return DayCount.THIRTY_360, tuple(DayCount)


def _closing_day_count(instrument: Instrument, candidates, notes: list[str]) -> Instrument:
    """Of the candidate day counts, the one under which the schedule produces the comparable
    yield (method §8), flagged as an assumption: the first of ``candidates`` that closes within
    the tolerance — regular periods give every 30-day and ACT/ACT convention the same rate, and
    residuals within the rounding of the printed figures do not tell them apart — else the
    smallest final adjusted issue price.  Others that also close are named."""
    tried = []
    for order, day_count in enumerate(candidates):
        cy = instrument.comparable_yield
        candidate = dataclasses.replace(
            instrument, comparable_yield=ComparableYield(cy.annual_rate, day_count, cy.frequency))
        report = validate_schedule(candidate, DEFAULT_TOLERANCE_PER_1000, None)
        if report.structurally_valid:
            residual = abs(report.final_adjusted_issue_price)
            key = (0, order) if report.within_tolerance else (1, residual)
            tried.append((key, residual, day_count.value, candidate, report.within_tolerance))
    if not tried:
        return instrument
    tried.sort(key=lambda t: t[0])
    _, residual, name, chosen, _ = tried[0]
    also = [t[2] for t in tried[1:] if t[4]]
    notes.append(f"assumed: day_count {name} — the document states none cpdi can use; of "
                 f"{', '.join(c.value for c in candidates)} it is the "
                 + ("first " if also else "one ") +
                 f"under which the schedule produces the comparable yield (final AIP "
                 f"{residual:.6f})" + (f"; {', '.join(also)} also do" if also else "")
                 + "; check it")
    return chosen


def _accrual_rows(doc: TermsDocument, iid: str, unit: Decimal) -> tuple[IssuerAccrual, ...]:
    rows = []
    for number, printed in enumerate(doc.accruals, start=2):
        value = _per_unit(printed.amount, printed.per, unit)
        if value is None or printed.period_start is None:
            continue
        decimals = max(0, -value.as_tuple().exponent)
        rows.append(IssuerAccrual(iid, printed.period_start, printed.period_end, float(value),
                                  decimals, number))
    return tuple(rows)


def _projected_payments(doc, issue, maturity, frequency, accruals, notes, unit):
    """The schedule as printed, or the single payment on its grid (module docstring)."""
    fixed = doc.fixed_payments
    if doc.schedule:
        rows, start = [], issue
        for k, printed in enumerate(doc.schedule):
            begin = printed.period_start if printed.period_start is not None else start
            kind = PaymentType.FIXED if k < fixed else PaymentType.CONTINGENT
            amount = _per_unit(printed.amount, printed.per, unit)
            rows.append(ProjectedPayment(begin, printed.period_end, float(amount), kind))
            start = printed.period_end
        if any(p.period_start is None for p in doc.schedule):
            notes.append("the schedule prints payment dates: each accrual period runs from the "
                         "previous payment date (the first from the issue date) to the next")
        return tuple(rows)
    amount = float(_single_payment(doc, unit))
    runs_issue_to_maturity = (
        accruals and accruals[0].period_start == issue and accruals[-1].period_end == maturity
        and all(a.period_end == b.period_start for a, b in zip(accruals, accruals[1:])))
    table_frequency = _spacing(accruals) if accruals else None
    if runs_issue_to_maturity and table_frequency in (None, frequency):
        dates = tuple((a.period_start, a.period_end) for a in accruals)
        notes.append("accrual periods: those of the issuer's OID table (it runs from issue to "
                     "maturity)")
    else:
        try:
            dates = accrual_period_dates(AccrualGrid(issue, maturity, frequency, Anchor.MATURITY))
        except ScheduleBuildError as error:
            raise TermsImportError(doc.source_name, [f"no accrual periods can be built: {error}"])
        why = "the document prints no periods"
        if runs_issue_to_maturity:
            printed = _FREQUENCY_WORDS.get(table_frequency, "other")
            why = (f"the issuer's OID table prints {printed} periods, not the "
                   f"{_FREQUENCY_WORDS[frequency]} ones the comparable yield compounds over")
        notes.append(f"accrual periods: {_FREQUENCY_WORDS[frequency]}, rolled back from maturity "
                     f"(cpdi build-schedule's default) — {why}")
    return projected_schedule(dates, single_payment=amount)


def _single_payment(doc: TermsDocument, unit: Decimal) -> Decimal:
    """The single payment at maturity per unit of principal (scaled when the document prints
    it as a percentage of the principal amount)."""
    return _per_unit(doc.single_payment, doc.single_payment_per, unit)


def _instrument_row(instrument: Instrument, yield_pct: Decimal, price: Decimal,
                    unit: Decimal) -> dict[str, str]:
    cy = instrument.comparable_yield
    row = {
        "instrument_id": instrument.instrument_id, "description": instrument.description,
        "issue_date": instrument.issue_date.isoformat(),
        "maturity_date": instrument.maturity_date.isoformat(),
        "issue_price": _plain(price.normalize() if price == price.to_integral() else price),
        "unit_principal": _plain(unit.normalize() if unit == unit.to_integral() else unit),
        "comparable_yield_pct": _plain(yield_pct), "frequency": str(cy.frequency),
        "day_count": cy.day_count.value,
    }
    if instrument.daily_portion_basis is not DailyPortionBasis.CALENDAR_DAYS:
        row["daily_portion_basis"] = instrument.daily_portion_basis.value
    if instrument.source_document:
        row["source_document"] = instrument.source_document
    return row


def _schedule_rows(instrument: Instrument, doc: TermsDocument,
                   unit: Decimal) -> list[dict[str, str]]:
    """schedule.csv rows, amounts exactly as printed where the document printed them (per unit
    of principal: a percentage of the principal amount is scaled, :func:`_per_unit`)."""
    printed = {r.period_end: _plain(_per_unit(r.amount, r.per, unit)) for r in doc.schedule}
    if doc.single_payment is not None and not doc.schedule:
        printed = {instrument.maturity_date: _plain(_single_payment(doc, unit))}
    rows = []
    for p in instrument.projected_payments:
        amount = printed.get(p.period_end)
        text = _plain(_decimal(amount)) if amount is not None else (
            "0" if p.amount == 0 else repr(p.amount))
        rows.append({"instrument_id": instrument.instrument_id,
                     "period_start": p.period_start.isoformat(),
                     "period_end": p.period_end.isoformat(), "projected_payment": text,
                     "payment_type": p.payment_type.value})
    return rows


OUTPUT_FILES = ("instruments.csv", "schedule.csv", "issuer_accruals.csv")


def write_imported(imported: ImportedTerms, out_dir, force: bool = False) -> list[Path]:
    """Write the imported instrument into ``out_dir`` (created if missing), each file
    atomically.  Files of an earlier import are replaced only with ``force``; a stale
    ``issuer_accruals.csv`` is then removed when this document prints none, so the folder holds
    one document's terms and nothing else of ours."""
    import csv

    from cpdi.writers.atomic import atomic_text
    from cpdi.writers.privacy import csv_safe

    folder = Path(out_dir)
    if folder.exists() and not folder.is_dir():
        raise TermsImportError(str(folder), [f"--out {folder} is a file, not a folder"])
    present = [name for name in OUTPUT_FILES if (folder / name).exists()]
    if present and not force:
        raise TermsImportError(str(folder), [
            f"{folder / present[0]} already exists: choose an empty --out folder, or pass --force "
            "to replace the files of an earlier import"])
    folder.mkdir(parents=True, exist_ok=True)
    tables = [("instruments.csv", [imported.instrument_row]),
              ("schedule.csv", imported.schedule_rows)]
    if imported.accrual_rows:
        tables.append(("issuer_accruals.csv", imported.accrual_rows))
    written = []
    for name, rows in tables:
        target = folder / name
        with atomic_text(target) as handle:
            writer = csv.writer(handle, lineterminator="\n")
            header = list(rows[0])
            writer.writerow(header)
            for row in rows:
                writer.writerow([csv_safe(row[c]) for c in header])
        written.append(target)
    if not imported.accrual_rows and (folder / "issuer_accruals.csv").exists():
        os.remove(folder / "issuer_accruals.csv")  # only reached with force
    return written
