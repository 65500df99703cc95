"""The study across sessions (SPEC §7): sessions table, coverage matrix, baseline table,
guide versions and what changed, COREQ facts.

``report.build_study`` turns session folders (read with ``guide_tui.export.read_session``,
never written) into plain :class:`~guide_tui.study.tables.ReportTable` s; ``tables`` renders
them as text (Rich), Markdown or CSV. Nothing here imports the UI.
"""

from __future__ import annotations

from guide_tui.study.report import Study, build_study, load_study
from guide_tui.study.tables import ReportTable, render_csv, render_markdown, render_text

__all__ = [
    "ReportTable",
    "Study",
    "build_study",
    "load_study",
    "render_csv",
    "render_markdown",
    "render_text",
]
