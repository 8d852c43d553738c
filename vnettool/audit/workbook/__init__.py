"""The audit workbook (openpyxl): Summary, Findings, Rules, RVTools-compatible network tabs,
vnettool's extra tabs, and Drift.

Layout and columns follow ../shared/docs/audit-rules.md §1 and §3. Each tab is a column table
(`columns.Col`: a header and its getter on one line); `sheet` makes cells formula-safe,
`writer` puts the tabs in order and writes the file atomically.
"""

from vnettool.audit.workbook.sheet import safe
from vnettool.audit.workbook.writer import write_workbook

__all__ = ["safe", "write_workbook"]
