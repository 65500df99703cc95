"""Printable renderings of a guide: Rich for the terminal, Markdown for an ethics appendix.

Both take a participant ``group``: questions not meant for that group are left out and group
wordings replace the default text. Without a group, every question is shown with its variants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from guide_tui.guide.model import Guide, Question, Topic

if TYPE_CHECKING:
    from rich.console import RenderableType


def _minutes(value: float | None) -> str:
    return "" if value is None else f"{value:g} min"


def _group_labels(guide: Guide, ids: tuple[str, ...]) -> str:
    labels = {g.id: g.label for g in guide.groups}
    return ", ".join(labels.get(i, i) for i in ids)


def _baseline_kind(field_type: str, options: tuple[str, ...], unit: str | None) -> str:
    if field_type == "choice":
        return " / ".join(options)
    if field_type == "number":
        return f"number ({unit})" if unit else "number"
    return "yes / no" if field_type == "yes-no" else "text"


def to_markdown(guide: Guide, group: str | None = None) -> str:
    """The whole guide as Markdown (for a document or an ethics-committee appendix)."""
    lines = [f"# {guide.title}", ""]
    facts = [
        f"- **Guide:** `{guide.id}`, version {guide.version}",
        f"- **Language:** {guide.language}",
        f"- **Planned duration:** {guide.duration_minutes:g} minutes",
    ]
    if group is not None:
        facts.append(f"- **Participant group:** {guide.group(group).label}")
    elif guide.groups:
        facts.append("- **Participant groups:** " + ", ".join(g.label for g in guide.groups))
    if guide.authors:
        facts.append("- **Authors:** " + ", ".join(guide.authors))
    if guide.source:
        facts.append(f"- **Source:** {guide.source}")
    lines += [*facts, ""]
    if guide.description:
        lines += [guide.description, ""]
    if guide.consent:
        lines += ["## Consent", ""]
        lines += [f"- [ ] {item.text}" for item in guide.consent]
        lines.append("")
    if guide.baseline:
        lines += ["## Baseline questions", "", "| Question | Answer |", "|---|---|"]
        for field in guide.baseline:
            required = "" if field.required else " (optional)"
            kind = _baseline_kind(field.type, field.options, field.unit)
            lines.append(f"| {field.label}{required} | {kind} |")
        lines.append("")
    lines += ["## Topics", ""]
    for number, topic in enumerate(guide.topics_for(group), start=1):
        lines += _topic_markdown(guide, topic, number, group)
    if guide.closing:
        lines += ["## Closing", ""]
        for i, item in enumerate(guide.closing, start=1):
            lines.append(f"{i}. {item.text_for(group)}")
            if group is None:
                lines += [
                    f"   - *{_group_labels(guide, (group_id,))}:* {wording}"
                    for group_id, wording in item.variants
                ]
        lines.append("")
    if guide.vocabulary:
        lines += ["## Vocabulary", "", ", ".join(guide.vocabulary), ""]
    return "\n".join(lines)


def _topic_markdown(guide: Guide, topic: Topic, number: int, group: str | None) -> list[str]:
    heading = f"### {number}. {topic.title}"
    extras = [
        x for x in (_minutes(topic.minutes), "sensitive: ask late" if topic.sensitive else "") if x
    ]
    if topic.groups and group is None:
        extras.append("only for " + _group_labels(guide, topic.groups))
    if extras:
        heading += f" ({'; '.join(extras)})"
    lines = [heading, ""]
    if topic.note:
        lines += [f"*{topic.note}*", ""]
    if topic.research_questions:
        lines.append("Research questions:")
        lines += [f"- *{rq}*" for rq in topic.research_questions]
        lines.append("")
    for index, question in enumerate(topic.questions_for(group), start=1):
        lines += _question_markdown(guide, question, index, group)
    summary = topic.summary_for(group)
    if summary:
        lines += [f"> **Summarise:** {summary}", ""]
        if group is None:
            for group_id, wording in topic.summary_variants:
                lines += [f"> *{_group_labels(guide, (group_id,))}:* {wording}", ""]
    return lines


def _question_markdown(
    guide: Guide, question: Question, index: int, group: str | None
) -> list[str]:
    flags = []
    if question.sensitive:
        flags.append("**sensitive: ask late**")
    if question.groups and group is None:
        flags.append("only for " + _group_labels(guide, question.groups))
    suffix = f" ({'; '.join(flags)})" if flags else ""
    lines = [f"{index}. {question.text_for(group)}{suffix}"]
    if question.note:
        lines.append(f"   - *Note: {question.note}*")
    if group is None:
        for group_id, wording in question.variants:
            lines.append(f"   - *{_group_labels(guide, (group_id,))}:* {wording}")
    lines += [f"   - Probe: {probe.text}" for probe in question.probes]
    lines.append("")
    return lines


def to_rich(guide: Guide, group: str | None = None) -> RenderableType:
    """The guide for the terminal: a heading panel, consent and baseline, then each topic.

    Guide text is data: it goes into Rich ``Text`` objects (never parsed as markup, so
    "[LBP]" or "[/b]" show as written) after :func:`~guide_tui.safetext.terminal_text` (so no
    control character reaches the terminal, even from a guide that did not pass the loader).
    """
    from rich.console import Group as RenderGroup
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from guide_tui.safetext import map_text, terminal_text

    guide = map_text(guide, terminal_text)
    parts: list[RenderableType] = []
    header = Text()
    header.append(guide.title, style="bold")
    header.append(
        f"\n{guide.id} · version {guide.version} · language {guide.language} · "
        f"{guide.duration_minutes:g} minutes planned",
        style="dim",
    )
    if group is not None:
        header.append(f"\nParticipant group: {guide.group(group).label}")
    elif guide.groups:
        header.append("\nGroups: " + ", ".join(f"{g.label} ({g.id})" for g in guide.groups))
    if guide.source:
        header.append(f"\nSource: {guide.source}", style="dim")
    parts.append(Panel(header, expand=True))
    if guide.description:
        parts.append(Text(guide.description + "\n"))
    if guide.consent:
        consent = Text("Consent\n", style="bold underline")
        for consent_item in guide.consent:
            consent.append(f"  ☐ {consent_item.text}\n")
        parts.append(consent)
    if guide.baseline:
        table = Table(title="Baseline questions", title_justify="left", title_style="bold")
        table.add_column("Question")
        table.add_column("Answer")
        table.add_column("Required")
        for field in guide.baseline:
            table.add_row(
                Text(field.label),
                Text(_baseline_kind(field.type, field.options, field.unit)),
                "yes" if field.required else "no",
            )
        parts.append(table)
    for number, topic in enumerate(guide.topics_for(group), start=1):
        parts.append(_topic_rich(guide, topic, number, group))
    if guide.closing:
        closing = Text("\nClosing\n", style="bold underline")
        for index, item in enumerate(guide.closing, start=1):
            closing.append(f"  {index}. {item.text_for(group)}\n")
            if group is None:
                for group_id, wording in item.variants:
                    closing.append(
                        f"      {_group_labels(guide, (group_id,))}: {wording}\n", style="magenta"
                    )
        parts.append(closing)
    if guide.vocabulary:
        parts.append(Text("Vocabulary: " + ", ".join(guide.vocabulary), style="dim"))
    return RenderGroup(*parts)


def _topic_rich(guide: Guide, topic: Topic, number: int, group: str | None) -> RenderableType:
    from rich.text import Text

    text = Text()
    text.append(f"\n{number}. {topic.title}", style="bold cyan")
    if topic.minutes is not None:
        text.append(f"  {_minutes(topic.minutes)}", style="dim")
    if topic.sensitive:
        text.append("  ⚠ sensitive: ask late", style="yellow")
    if topic.groups and group is None:
        text.append(f"  only for {_group_labels(guide, topic.groups)}", style="magenta")
    text.append("\n")
    if topic.note:
        text.append(f"   {topic.note}\n", style="italic")
    for rq in topic.research_questions:
        text.append(f"   RQ: {rq}\n", style="dim italic")
    for index, question in enumerate(topic.questions_for(group), start=1):
        text.append(f"   {index}. {question.text_for(group)}")
        if question.sensitive:
            text.append("  ⚠ sensitive: ask late", style="yellow")
        if question.groups and group is None:
            text.append(f"  only for {_group_labels(guide, question.groups)}", style="magenta")
        text.append("\n")
        if question.note:
            text.append(f"      Note: {question.note}\n", style="italic")
        if group is None:
            for group_id, wording in question.variants:
                text.append(
                    f"      {_group_labels(guide, (group_id,))}: {wording}\n", style="magenta"
                )
        for probe in question.probes:
            text.append(f"      › {probe.text}\n", style="green")
    summary = topic.summary_for(group)
    if summary:
        text.append(f"   Summarise: {summary}\n", style="blue")
        if group is None:
            for group_id, wording in topic.summary_variants:
                text.append(
                    f"      {_group_labels(guide, (group_id,))}: {wording}\n", style="magenta"
                )
    return text
