"""Benchmark `cpdi compute`: read + validate a synthetic portfolio from CSV, compute every
lot-year, write the results ledger.  Reports lot-years per second and peak memory for the two
ways of running it, each in a fresh process (peak memory is per process):

* ``cli``    — what ``cpdi compute`` does: rows streamed to the CSV as each lot is computed
               (``api.iter_ledgers``), so memory holds the input, not the ledger;
* ``collect``— the Python API's ``api.compute(...)``: every ledger kept for ``.frame()``.

    python benchmarks/bench_compute.py --lot-years 100000

Target: 100,000 lot-years in under 10 s on the 2-core machine.
Not a test: figures go in the README ("Speed").
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cpdi.synthetic import random_portfolio, write_csv_folder


def measure(folder: str, through_year: int, mode: str, out: str) -> dict:
    """One run in this process: read, compute, write; timings and peak memory."""
    from cpdi import api
    from cpdi.writers.results import write_results_csv

    t0 = time.perf_counter()
    portfolio = api.load(folder)
    t1 = time.perf_counter()
    if mode == "collect":
        result = api.compute(portfolio, through_year)
        t2 = time.perf_counter()
        rows = write_results_csv(result.rows, out)
        problems = len(result.problems)
    else:
        books = api.instrument_books(portfolio)
        problems_found: list = []
        ledgers = api.iter_ledgers(portfolio, through_year, books, problems_found)
        rows = write_results_csv((row for ledger in ledgers for row in ledger.years), out)
        t2 = time.perf_counter()  # compute and write interleave: reported together
        problems = len(problems_found)
    t3 = time.perf_counter()
    return {
        "mode": mode, "lots": len(portfolio.lots), "instruments": len(portfolio.instruments),
        "rows": rows, "problems": problems, "read": t1 - t0, "compute": t2 - t1,
        "write": t3 - t2, "total": t3 - t0,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lot-years", type=int, default=100_000, help="target lot-years (approx.)")
    parser.add_argument("--through-year", type=int, default=2025)
    parser.add_argument("--instruments", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--modes", nargs="+", default=["cli", "collect"], choices=["cli", "collect"])
    parser.add_argument("--child", nargs=3, metavar=("FOLDER", "MODE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        folder, mode, out = args.child
        print(json.dumps(measure(folder, args.through_year, mode, out)))
        return

    # ~3.4 lot-years per lot with these synthetic instruments; holders of 1–4 lots
    holders = max(1, int(args.lot_years / 3.4 / 2.5))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        synthetic = random_portfolio(args.seed, instruments=args.instruments, holders=holders)
        folder = write_csv_folder(synthetic, Path(tmp) / "in")
        print(f"synthetic portfolio generated in {time.perf_counter() - t0:.1f} s")
        for mode in args.modes:
            run = subprocess.run(
                [sys.executable, __file__, "--through-year", str(args.through_year),
                 "--child", str(folder), mode, str(Path(tmp) / f"results-{mode}.csv")],
                capture_output=True, text=True, check=True)
            m = json.loads(run.stdout)
            rate = m["rows"] / m["total"]
            print(f"\n[{mode}] {m['lots']:,} lots, {m['instruments']} instruments, "
                  f"{m['problems']} problem(s)")
            print(f"  read + validate : {m['read']:6.2f} s")
            if mode == "collect":
                print(f"  compute         : {m['compute']:6.2f} s  ({m['rows'] / m['compute']:,.0f} lot-years/s)")
                print(f"  write ledger    : {m['write']:6.2f} s")
            else:
                print(f"  compute + write : {m['compute']:6.2f} s  (streamed)")
            print(f"  total           : {m['total']:6.2f} s for {m['rows']:,} lot-years = {rate:,.0f} lot-years/s")
            print(f"  peak memory (max RSS): {m['peak_mb']:,.0f} MB")


if __name__ == "__main__":
    main()
