"""Report tables and their three renderings.

A study report is a list of plain tables (title, columns, rows, footnotes), so that the text,
Markdown and CSV outputs cannot disagree: they render the same cells.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from guide_tui.safetext import printable, terminal_text


@dataclass(frozen=True)
class ReportTable:
    name: str  # file stem for CSV output: sessions, coverage, baseline, ...
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: The CSV form when it differs from the printed one: numbers in their own columns (as
    #: numbers, not "covered 0.6 min"), so a spreadsheet can sum and sort them.
    csv_columns: tuple[str, ...] | None = None
    csv_rows: tuple[tuple[str, ...], ...] | None = None


def _md_cell(text: str) -> str:
    return printable(text).replace("|", "\\|").replace("\n", " ") or " "


def render_markdown(tables: list[ReportTable], title: str | None = None) -> str:
    lines = [f"# {printable(title)}", ""] if title else []
    for table in tables:
        lines += [f"## {printable(table.title)}", ""]
        if table.rows:
            lines.append("| " + " | ".join(_md_cell(c) for c in table.columns) + " |")
            lines.append("|" + "|".join("---" for _ in table.columns) + "|")
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
        else:
            lines.append("(none)")
        lines.append("")
        lines += [f"{printable(note)}  " for note in table.notes]
        if table.notes:
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _csv_cell(value: object) -> object:
    """Text without control characters (a session's data); numbers stay numbers."""
    return printable(value) if isinstance(value, str) else value


def render_csv(table: ReportTable) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    rows = table.csv_rows if table.csv_rows is not None else table.rows
    writer.writerow([_csv_cell(c) for c in table.csv_columns or table.columns])
    writer.writerows([_csv_cell(c) for c in row] for row in rows)
    return buffer.getvalue()


def render_csv_all(tables: list[ReportTable]) -> str:
    """Every table in one stream: each is preceded by a ``# name`` line and a blank line apart."""
    return "\n".join(f"# {t.name}\n{render_csv(t)}" for t in tables)


#: Width for text written to a file: wide enough that no cell is ever folded mid-word (an
#: editor scrolls sideways; a folded word cannot be searched for).
FILE_WIDTH = 10_000


def render_text(tables: list[ReportTable], title: str | None = None, width: int = 120) -> str:
    """Rich tables as plain text (no colour codes), for the terminal, files and tests.

    Every cell is a session's data (a participant, a guide title or version, an interviewer's
    name): Rich ``Text``, never markup, and no control character for the terminal.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    def text(value: str, style: str = "") -> Text:
        return Text(terminal_text(value), style=style)

    console = Console(
        file=io.StringIO(),
        width=width,
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
    )
    if title:
        console.print(text(title, "bold"))
        console.print()
    for table in tables:
        rich_table = Table(
            title=text(table.title), box=box.SIMPLE_HEAD, title_justify="left", show_lines=False
        )
        for column in table.columns:
            rich_table.add_column(text(column), overflow="fold")
        for row in table.rows:
            rich_table.add_row(*(text(cell) for cell in row))
        console.print(rich_table if table.rows else text(f"{table.title}: (none)"))
        for note in table.notes:
            console.print(text(note), soft_wrap=True)
        console.print()
    output = console.file
    assert isinstance(output, io.StringIO)
    return "\n".join(line.rstrip() for line in output.getvalue().splitlines()).rstrip() + "\n"
