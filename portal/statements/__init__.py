"""The monthly service-credit statement of a closed period, as CSV and as PDF.

Pure rendering: ``credits.statements`` reads every figure and builds the ``Statement``;
this module only lays the figures out and explains the arithmetic. Figures are written
by ``agreements.display`` (rule 19), so they read as on the portal's pages; the CSV drops
the thousands separators of amounts, which spreadsheets would read as text. Datetimes
are printed in the zone they arrive in (the agreement's).
"""

from __future__ import annotations

from portal.statements.as_csv import statement_csv
from portal.statements.as_pdf import statement_pdf

__all__ = ["statement_csv", "statement_pdf"]
