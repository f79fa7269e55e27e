"""Benchmark the year-end batch (`cpdi workpapers`) against the I/O floor.

For each N: generate a synthetic portfolio of N holders, run the batch with 1 and with all
workers, then, on the same cores, time a raw XlsxWriter dump of the same number of files, with
the same number of sheets and cells per file (measured from the batch's own workbooks) — the
floor a workbook writer cannot beat.  Reports workbooks/s, the ratio batch / raw, and peak
memory (parent and the largest worker).

    python benchmarks/bench_batch.py --holders 200 2000 20000

Targets (measured, not asserted): 2,000 holders ≤ 1.5× the raw dump (goal 1.25×); peak memory
under 1 GB for 20,000 holders; throughput scaling with cores.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import tempfile
import time
import zipfile
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

from cpdi.api import load
from cpdi.batch import BatchOptions, run_batch
from cpdi.synthetic import random_portfolio, write_csv_folder

CELL = re.compile(rb"<c ")
STRING_CELL = re.compile(rb'<c [^>]*t="s"')
FORMULA = re.compile(rb"<f>")


def shape_of(workbook: Path) -> tuple[int, int, int, int]:
    """(sheets, cells, text cells, formula cells) of a written workbook."""
    with zipfile.ZipFile(workbook) as archive:
        sheets = [archive.read(n) for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
    return (len(sheets), sum(len(CELL.findall(x)) for x in sheets),
            sum(len(STRING_CELL.findall(x)) for x in sheets), sum(len(FORMULA.findall(x)) for x in sheets))


def _raw_one(args) -> None:
    """The floor: the same sheets and cells — text, formulas with their values, numbers — and
    nothing else (no formats, charts, print setup), in XlsxWriter's fastest mode."""
    import xlsxwriter

    path, sheets, texts, formulas, numbers = args
    book = xlsxwriter.Workbook(path, {"in_memory": True})
    columns = 12
    for s in range(sheets):
        sheet = book.add_worksheet(f"S{s}")
        i = 0
        for k in range(texts):
            sheet.write_string(i // columns, i % columns, f"label {k}")
            i += 1
        for k in range(formulas):
            sheet.write_formula(i // columns, i % columns, f"=A1+{k}", None, k * 1.5)
            i += 1
        for k in range(numbers):
            sheet.write_number(i // columns, i % columns, k * 1.25)
            i += 1
    book.close()


def raw_dump(folder: Path, files: int, sheets: int, cells: int, texts: int, formulas: int,
             workers: int) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    per = lambda n: max(0, n // max(1, sheets))  # noqa: E731
    numbers = max(0, cells - texts - formulas)
    jobs = [(str(folder / f"raw{i:06d}.xlsx"), sheets, per(texts), per(formulas), per(numbers))
            for i in range(files)]
    start = time.perf_counter()
    if workers <= 1:
        for job in jobs:
            _raw_one(job)
    else:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_raw_one, jobs, chunksize=16))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holders", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--year", type=int, default=2024)
    parser.add_argument("--instruments", type=int, default=60)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the output folders")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    print(f"cores: {cores}")
    print(f"{'N':>7} {'workers':>7} {'batch s':>8} {'wb/s':>7} {'raw s':>7} {'raw wb/s':>8} "
          f"{'ratio':>6} {'sheets':>6} {'cells':>6} {'text':>5} {'fmla':>5} {'parent MB':>9} {'worker MB':>9}")
    for n in args.holders:
        tmp = Path(tempfile.mkdtemp(prefix=f"cpdi-bench-{n}-"))
        try:
            synthetic = random_portfolio(args.seed, instruments=args.instruments, holders=n)
            portfolio = load(write_csv_folder(synthetic, tmp / "in"))
            for workers in sorted({1, cores}):
                if workers == 1 and n > 2000:
                    continue  # the 1-worker figure is reported up to 2,000 holders
                out = tmp / f"out{workers}"
                start = time.perf_counter()
                report = run_batch(portfolio, BatchOptions(args.year, out, prepared=date(2025, 1, 31),
                                                           workers=workers, quiet=True))
                batch_s = time.perf_counter() - start
                books = report.workbooks
                sample = [shape_of(p) for p in books[:: max(1, len(books) // 200)]]
                sheets, cells, texts, formulas = (round(statistics.mean(x[i] for x in sample))
                                                  for i in range(4))
                raw_s = raw_dump(tmp / f"raw{workers}", len(books), sheets, cells, texts, formulas,
                                 workers)
                parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                print(f"{n:>7} {workers:>7} {batch_s:>8.1f} {len(books) / batch_s:>7.1f} {raw_s:>7.1f} "
                      f"{len(books) / raw_s:>8.1f} {batch_s / raw_s:>6.2f} {sheets:>6} {cells:>6} {texts:>5} {formulas:>5} "
                      f"{parent:>9.0f} {child:>9.0f}", flush=True)
                shutil.rmtree(tmp / f"raw{workers}", ignore_errors=True)
        finally:
            if not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
