"""cpdi — tax accruals for contingent payment debt instruments under the noncontingent bond
method, Treas. Reg. §1.1275-4(b).

The Python API (see ``cpdi.api``)::

    import cpdi
    portfolio = cpdi.load("my-input")                     # folder of CSVs or an .xlsx
    portfolio = cpdi.load_example()                       # the bundled example, from anywhere
    portfolio.problems                                    # every input problem (never raised)
    cpdi.validate(portfolio)                              # method §8 per instrument
    cpdi.schedule_frame(portfolio, "02687QCD8")           # per-period accrual table
    cpdi.build_schedule("N1", "2024-03-15", "2027-03-15", 2, single_payment=1142.83)  # a schedule
    cpdi.issuer_table_searches(portfolio)                 # the issuer's OID table (method §11)
    cpdi.compute(portfolio, through_year=2025).frame()    # the results ledger
    cpdi.workpapers(portfolio, 2025, "out/")              # the year-end batch
"""

__version__ = "0.6.0"

_API = {"load", "load_example", "validate", "schedule_frame", "calendar_year_frame", "compute",
        "ledger_frame", "workpapers", "build_schedule", "issuer_table_searches"}


def __getattr__(name):  # lazy, so the engine imports without pandas
    if name in _API:
        from cpdi import api

        return getattr(api, name)
    raise AttributeError(f"module 'cpdi' has no attribute {name!r}")


def example_path():
    """The bundled example portfolio folder."""
    from pathlib import Path

    return Path(__file__).parent / "examples" / "portfolio"
