"""Input readers: a folder of CSV files or one .xlsx workbook (docs/formats.md, "Input"), read into
a validated :class:`Portfolio` with every problem collected, not just the first.

* :mod:`cpdi.readers.columns` — the input columns declared once as data;
* :mod:`cpdi.readers.tables` — finding the tables and reading their raw cells;
* :mod:`cpdi.readers.inputs` — parsing and checking every cell and row.
"""

from cpdi.readers.inputs import Portfolio, read_portfolio

__all__ = ["Portfolio", "read_portfolio"]
