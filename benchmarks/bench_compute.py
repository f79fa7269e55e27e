"""Benchmark `cpdi compute`: read + validate a synthetic portfolio from CSV, compute every
lot-year, write the results ledger.  Reports lot-years per second and peak memory.

    python benchmarks/bench_compute.py --lot-years 100000

Target (issue "The holder ledger"): 100,000 lot-years in under 10 s on the 2-core machine.
Not a test: figures go in the README and the closing note.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from cpdi.api import compute, load
from cpdi.synthetic import random_portfolio, write_csv_folder
from cpdi.writers.results import write_results_csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lot-years", type=int, default=100_000, help="target lot-years (approx.)")
    parser.add_argument("--through-year", type=int, default=2025)
    parser.add_argument("--instruments", type=int, default=200)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()

    # ~3.4 lot-years per lot with these synthetic instruments; holders of 1–4 lots
    holders = max(1, int(args.lot_years / 3.4 / 2.5))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        synthetic = random_portfolio(args.seed, instruments=args.instruments, holders=holders)
        folder = write_csv_folder(synthetic, Path(tmp) / "in")
        t1 = time.perf_counter()
        portfolio = load(folder)
        t2 = time.perf_counter()
        result = compute(portfolio, args.through_year)
        t3 = time.perf_counter()
        rows = write_results_csv(result.rows, Path(tmp) / "results.csv")
        t4 = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = t4 - t1
    print(f"synthetic portfolio: {len(portfolio.lots):,} lots, {len(portfolio.instruments)} instruments "
          f"(generated in {t1 - t0:.1f} s); {len(result.problems)} problem(s)")
    print(f"read + validate : {t2 - t1:6.2f} s")
    print(f"compute         : {t3 - t2:6.2f} s  ({rows / (t3 - t2):,.0f} lot-years/s)")
    print(f"write ledger    : {t4 - t3:6.2f} s")
    print(f"total           : {total:6.2f} s for {rows:,} lot-years = {rows / total:,.0f} lot-years/s")
    print(f"peak memory (max RSS): {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
