"""The folder ``cpdi forms`` writes (docs/formats.md, "Output: `cpdi forms`"; method §12):
``form8949_YYYY.csv``, ``income_YYYY.csv``, ``cpdi_YYYY.txf`` with ``txf/<holder>_YYYY.txf``, and
``reconciliation_YYYY.csv`` when the input has broker figures.

Every file is written atomically; a rerun leaves the folder true — a reconciliation or a holder's
TXF file of the year that this run did not write is removed, and ``say`` is told so.  The command
line (``cpdi.cli``) parses and checks the options, computes, and prints what ``say`` is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from cpdi.problems import CpdiError

NAMED = 10
"""How many holders a line names (left out of TXF; per-holder TXF files) before it only
counts the rest."""


@dataclass(frozen=True)
class FormsFolder:
    """What :func:`write_forms_folder` wrote: the holders in TXF and the reconciliation lines
    flagged (not explained)."""

    holders_in_txf: int
    flagged: int


def write_forms_folder(out: Path, year: int, portfolio, result, forms: dict, mapping,
                       holder_id: str | None, prepared: date, tins, say) -> FormsFolder:
    """Write the year's forms of ``forms`` (``holder_id -> HolderForms``, from
    :func:`cpdi.api.forms` over ``result``) into ``out``; ``holder_id`` restricts the broker
    figures to one holder (``--holder``); ``prepared`` is the TXF export date; ``tins`` the
    holders' taxpayer ids (masked everywhere); ``say`` gets one line per file written or
    removed."""
    from cpdi.writers.atomic import remove_leftover_parts
    from cpdi.writers.forms.form8949 import write_form8949_csv
    from cpdi.writers.forms.income import write_income_csv

    out.mkdir(parents=True, exist_ok=True)
    for name, writer, what in ((f"form8949_{year}.csv", write_form8949_csv, "disposition(s)"),
                               (f"income_{year}.csv", write_income_csv, "line(s)")):
        remove_leftover_parts(out, name)
        count = writer(forms.values(), out / name, tins)
        say(f"wrote {out / name}: {count} {what}")
    descriptions = {iid: i.description for iid, i in portfolio.instruments.items()}
    in_txf, _ = _write_txf_files(out, year, forms, mapping, descriptions, prepared, tins, say)
    flagged = _write_reconciliation(out, year, portfolio, result, forms, holder_id, tins, say)
    return FormsFolder(in_txf, flagged)


def _remove_stale(paths, say) -> None:
    """Remove files an earlier run wrote that this run did not (so the folder says only what
    this run found), saying so; one that cannot be removed is an error."""
    for path in paths:
        path.unlink()
        say(f"removed {path}: written by an earlier run, not by this one")


def _write_txf_files(out: Path, year: int, forms: dict, mapping, descriptions: dict,
                     prepared: date, tins, say) -> tuple[int, list[str]]:
    """``cpdi_YYYY.txf`` with every TXF holder's records, and ``txf/<holder>_YYYY.txf`` per
    holder (one TXF file is one return); stale per-holder files of the year removed.  Returns
    the holders written and those left out (their return is not imported by TXF)."""
    from cpdi import __version__
    from cpdi.writers.atomic import remove_leftover_parts
    from cpdi.writers.forms.txf import holder_records, holder_txf_names, in_txf, write_txf

    program = f"cpdi {__version__}"
    included = {h: f for h, f in forms.items() if in_txf(mapping.filer(f.filer_type))}
    left_out = [f"{h} ({f.filer_type.value})" for h, f in forms.items() if h not in included]
    records = {h: holder_records(f, mapping.filer(f.filer_type), descriptions, tins)
               for h, f in included.items()}
    combined = out / f"cpdi_{year}.txf"
    remove_leftover_parts(out, combined.name)
    count = write_txf(combined, [r for rs in records.values() for r in rs], prepared, program)
    named = ", ".join(left_out[:NAMED]) + (
        f" and {len(left_out) - NAMED} more" if len(left_out) > NAMED else "")
    say(f"wrote {combined}: {count} record(s) for {len(included)} holder(s)"
        + (f"; left out, their return is not imported by TXF: {named}" if left_out else ""))
    folder = out / "txf"
    names = holder_txf_names(included, year, tins)
    remove_leftover_parts(folder)
    total = 0
    for holder_id, name in names.items():
        count = write_txf(folder / name, records[holder_id], prepared, program)
        total += count
        if len(names) <= NAMED:  # a batch of thousands gets one line, not one per holder
            say(f"wrote {folder / name}: {count} record(s)")
    if len(names) > NAMED:
        say(f"wrote {len(names)} holder TXF file(s) to {folder}: {total} record(s)")
    written = set(names.values())
    stale = sorted(p for p in folder.glob(f"*_{year}.txf") if p.is_file() and p.name not in
                   written) if folder.is_dir() else []
    _remove_stale(stale, say)
    return len(included), left_out


def _broker_figures(portfolio, year: int, holder_id: str | None):
    """The input's broker figures (``broker_1099``) of the year — of ``holder_id`` only when
    given — and whether the input has any at all."""
    figures = tuple(getattr(portfolio, "broker_1099", ()) or ())
    chosen = tuple(f for f in figures if f.tax_year == year
                   and (holder_id is None or f.holder_id == holder_id))
    return chosen, bool(figures)


def _write_reconciliation(out: Path, year: int, portfolio, result, forms: dict,
                          holder_id: str | None, tins, say) -> int:
    """``reconciliation_YYYY.csv`` when the input has broker figures (method §12); otherwise an
    earlier run's file of the year is removed.  Returns the lines flagged (not explained)."""
    target = out / f"reconciliation_{year}.csv"
    figures, present = _broker_figures(portfolio, year, holder_id)
    if not present:
        _remove_stale([target] if target.is_file() else [], say)
        return 0
    try:
        from cpdi.engine.reconciliation import reconcile
        from cpdi.writers.forms.reconciliation import write_reconciliation_csv
    except ImportError as error:
        raise CpdiError(f"the input has broker figures (broker_1099), but this cpdi cannot "
                        f"reconcile them: {error}") from None
    from cpdi.writers.atomic import remove_leftover_parts

    ledgers = [x for x in result.ledgers if holder_id is None or x.lot.holder_id == holder_id]
    schedules = {iid: book.schedule for iid, book in result.books.items()
                 if book.schedule is not None and book.validation.usable}
    lines = reconcile(figures, forms, ledgers, year, schedules)
    remove_leftover_parts(out, target.name)
    written = write_reconciliation_csv(lines, target, tins)
    flagged = sum(1 for line in lines if not line.explained)
    say(f"wrote {target}: {written} line(s), {flagged} flagged")
    return flagged
