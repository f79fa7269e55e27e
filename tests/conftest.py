"""Suite-wide test policy.

LibreOffice: the workpaper tests prove their formulas by having LibreOffice recalculate them
(tests/recalc.py).  Without LibreOffice a developer's run skips those tests, saying why; under
CI (the environment variable CI is "true" or "1", as CI services set it) they fail instead,
because a CI run that skips the proof proves nothing.
"""

from __future__ import annotations

import os

import pytest

from recalc import find_soffice

LIBREOFFICE_INSTALL = "apt-get install -y --no-install-recommends libreoffice-calc-nogui"


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1")


def require_libreoffice() -> str:
    """The LibreOffice executable; without one, skip the calling test, or fail it under CI."""
    soffice = find_soffice()
    if soffice is not None:
        return soffice
    if under_ci():
        pytest.fail("LibreOffice is required under CI (CI is set) to recalculate the workbooks, "
                    "but neither soffice nor libreoffice is on PATH; install it with: "
                    f"{LIBREOFFICE_INSTALL}", pytrace=False)
    pytest.skip("LibreOffice (soffice) is not installed, so the workbooks cannot be "
                f"recalculated; install it with: {LIBREOFFICE_INSTALL}")


@pytest.fixture(scope="session")
def libreoffice() -> str:
    """The LibreOffice executable, under the policy of require_libreoffice()."""
    return require_libreoffice()
