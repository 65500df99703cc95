"""What a study's sessions add up to, as tables a methods section can use.

Coverage comes from the event log through ``InterviewState`` (the same derivation the TUI and
``guide-tui sessions`` use), with the session's *frozen* guide, so a session is judged against
the guide version it was run with. When a frozen guide no longer loads, the coverage block of
``session.json`` is used instead. Baseline answers count each participant once (their latest
session), as Table 1 of a paper does; repeat interviews are reported as such.

A study is one interview guide (its ``id``; its versions are compared in the versions table):
a recordings folder holding interviews with several guides gives one report per guide
(``select_guide``), and sessions that never reached the interview (quit at consent) are listed
as "not started" but not counted as interviews.
"""

from __future__ import annotations

import contextlib
import statistics
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guide_tui.errors import ExportError
from guide_tui.export.session_data import SessionData, find_sessions, read_session
from guide_tui.export.timecodes import minutes_label
from guide_tui.guide.model import BaselineField, Guide
from guide_tui.session.state import BRIEF_VISIT_SECONDS
from guide_tui.study.tables import ReportTable

#: How a topic's state reads in the coverage matrix.
COVERAGE_LABELS = {
    "covered": "covered",
    "in_progress": "partly",
    "skipped": "skipped",
    "not_started": "not",
}
NOT_APPLICABLE = "–"


@dataclass(frozen=True)
class Study:
    sessions: tuple[SessionData, ...]  # the interviews (sessions that reached the interview)
    tables: tuple[ReportTable, ...]
    problems: tuple[str, ...] = ()  # session folders that could not be read, with the reason
    not_started: tuple[SessionData, ...] = ()  # false starts: quit before the interview
    guide_id: str | None = None
    other_guides: tuple[tuple[str, int], ...] = ()  # (guide id, sessions) left out of this one

    @property
    def title(self) -> str:
        guides = {
            str(d.guide_info.get("title") or d.guide_info.get("id") or "") for d in self.sessions
        } - {""}
        name = ", ".join(sorted(guides)) or "Interviews"
        count = len(self.sessions)
        return f"Study: {name} ({count} interview{'s' if count != 1 else ''})"

    def table(self, name: str) -> ReportTable:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)


def guide_id_of(data: SessionData) -> str:
    return str(data.guide_info.get("id") or (data.guide.id if data.guide else "") or "?")


def select_guide(
    sessions: list[SessionData], guide: str | None = None
) -> tuple[str | None, list[SessionData], list[tuple[str, int]]]:
    """(guide id, its sessions, the other guides with their session counts).

    ``guide`` chooses; without it the guide used most is the study, and a tie cannot be
    guessed, so it asks for ``--guide``. Unknown ids are the user's typo: the choices are listed.
    """
    counts = Counter(guide_id_of(d) for d in sessions)
    if not counts:
        return guide, [], []
    ranked = counts.most_common()
    if guide is None:
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            raise ExportError(
                "this folder has interviews with several guides, equally often: "
                + ", ".join(f"{g} ({n})" for g, n in ranked)
                + "; choose one with --guide ID"
            )
        guide = ranked[0][0]
    elif guide not in counts:
        raise ExportError(
            f"no sessions with guide {guide!r} here; the guides used are: "
            + ", ".join(f"{g} ({n})" for g, n in ranked)
        )
    chosen = [d for d in sessions if guide_id_of(d) == guide]
    return guide, chosen, [(g, n) for g, n in ranked if g != guide]


def interview_reached(data: SessionData) -> bool:
    """Whether the session got past consent and baseline (a false start did not)."""
    from guide_tui.session.events import reached_interview

    return reached_interview(data.events)


def load_study(root: str | Path, guide: str | None = None) -> Study:
    """The sessions of one guide under ``root``; a broken folder is reported, not fatal.

    Each session is also summarised on its own first: one whose files hold something the
    tables cannot use (a folder received from elsewhere can hold anything) is reported and
    left out, rather than ending the report for the whole study.
    """
    sessions, problems = [], []
    for folder in find_sessions(root):
        try:
            data = read_session(folder)
            if interview_reached(data):
                build_study([data])
            else:
                build_study([], [data])
        except ExportError as error:
            problems.append(str(error))
        except Exception as error:  # one broken folder must not hide the others
            problems.append(f"{folder}: cannot be summarised: {error!r}")
        else:
            sessions.append(data)
    guide, chosen, others = select_guide(sessions, guide)
    interviews = [d for d in chosen if interview_reached(d)]
    not_started = [d for d in chosen if not interview_reached(d)]
    study = build_study(interviews, not_started)
    return Study(
        study.sessions,
        study.tables,
        tuple(problems),
        study.not_started,
        guide,
        tuple(others),
    )


def _started(data: SessionData) -> str:
    return str(data.meta.get("started") or data.name)


def session_coverage(data: SessionData) -> dict[str, dict[str, Any]]:
    """Per topic: ``status`` (covered / in_progress / skipped / not_started) and ``seconds``.

    Swappable in one place: ``InterviewState`` over the frozen guide, else ``session.json``.
    """
    if data.guide is not None:
        from guide_tui.session.state import InterviewState

        state = InterviewState.from_events(data.guide, data.events, data.group)
        derived: dict[str, dict[str, Any]] = state.coverage_summary()["topics"]
        return derived
    stored = data.meta.get("coverage")
    topics = stored.get("topics") if isinstance(stored, dict) else None
    if isinstance(topics, dict):
        return {str(k): v for k, v in topics.items() if isinstance(v, dict)}
    return {}


GuideUse = tuple[str, "Guide | None", list[SessionData]]


def _guides_in_order(sessions: list[SessionData]) -> list[GuideUse]:
    """(version, guide, sessions) per distinct frozen guide text, in order of first use."""
    seen: dict[str, GuideUse] = {}
    for data in sorted(sessions, key=_started):
        info = data.guide_info
        key = str(
            info.get("sha256")
            or (data.guide.sha256 if data.guide else None)
            or info.get("version")
            or "?"
        )
        if key not in seen or (seen[key][1] is None and data.guide is not None):
            members = seen[key][2] if key in seen else []
            seen[key] = (str(info.get("version") or "?"), data.guide, members)
        seen[key][2].append(data)
    return list(seen.values())


def _topic_order(sessions: list[SessionData]) -> list[tuple[str, str]]:
    """Every topic of every guide used, in the newest guide's order, then older ones."""
    order: list[tuple[str, str]] = []
    known: set[str] = set()
    for data in sorted(sessions, key=_started, reverse=True):
        topics = (
            [(t.id, t.title) for t in data.guide.topics]
            if data.guide is not None
            else [(k, data.topic_title(k)) for k in session_coverage(data)]
        )
        for topic_id, title in topics:
            if topic_id not in known:
                known.add(topic_id)
                order.append((topic_id, title))
    return order


def _column_labels(sessions: list[SessionData]) -> list[str]:
    """Participant per session; a repeat interview is ``P01 (2)``."""
    seen: Counter[str] = Counter()
    labels = []
    for data in sessions:
        seen[data.participant] += 1
        n = seen[data.participant]
        labels.append(data.participant if n == 1 else f"{data.participant} ({n})")
    return labels


def reviewed_turns(data: SessionData) -> tuple[int, int] | None:
    """(turns marked reviewed, turns) of the corrected transcript, from the transcript model
    (``None`` without a transcript). Without a ``reviewed`` correction no turn is, and the model
    is still built for the count (0.16 s for an hour of speech, 12,000 words, at load 10)."""
    if data.transcript is None:
        return None
    from guide_tui.export.writers import transcript_model

    try:
        model = transcript_model(data)
    except ExportError:
        return None
    return model.reviewed_turns, len(model.turns)


def _status(data: SessionData) -> str:
    if data.ended:
        return "complete"
    return "interrupted" if data.events else "not started"


# ---------------------------------------------------------------------------------------------


def sessions_table(
    sessions: list[SessionData], not_started: list[SessionData] | None = None
) -> ReportTable:
    rows = []
    csv_rows = []
    for data, label in zip(sessions, _column_labels(sessions), strict=True):
        coverage = session_coverage(data)
        applicable = [t for t in coverage.values() if isinstance(t, dict)]
        covered = sum(1 for t in applicable if t.get("status") == "covered")
        audio = "yes" if data.recorded else ("notes only" if data.meta.get("notes_only") else "no")
        reviewed = reviewed_turns(data)
        rows.append(
            (
                label,
                data.group or "",
                _started(data)[:10],
                str(data.guide_info.get("version") or "?"),
                minutes_label(data.duration_s()),
                audio,
                "yes" if data.transcript is not None else "no",
                f"{reviewed[0]}/{reviewed[1]} turns" if reviewed is not None else "–",
                _status(data) + (f" ({data.torn_lines} torn line)" if data.torn_lines else ""),
                f"{covered}/{len(applicable)}" if applicable else "?",
            )
        )
        duration = data.duration_s()
        csv_rows.append(
            (
                *rows[-1][:4],
                f"{duration / 60:.1f}" if duration is not None else "",
                *rows[-1][5:7],
                str(reviewed[0]) if reviewed is not None else "",
                str(reviewed[1]) if reviewed is not None else "",
                rows[-1][8],
                str(covered) if applicable else "",
                str(len(applicable)) if applicable else "",
            )
        )
    notes = [
        "Duration: the interview, from its start to its end on the recording clock (consent, "
        "baseline and microphone check before it are not counted).",
        "Interrupted: the session has no end event (closed terminal, crash); it can be resumed.",
        "Reviewed: the transcript's turns the researcher marked reviewed (guide-tui review), "
        "of all its turns.",
    ]
    if not_started:
        notes.append(
            "Not started (quit before the interview; not counted): "
            + ", ".join(f"{d.participant} ({_started(d)[:10]}, {d.name})" for d in not_started)
            + ". Delete with: guide-tui sessions --discard FOLDER."
        )
    columns = (
        "Participant",
        "Group",
        "Date",
        "Guide version",
        "Duration",
        "Recorded",
        "Transcribed",
        "Reviewed",
        "Status",
        "Topics covered",
    )
    return ReportTable(
        "sessions",
        "Sessions",
        columns,
        tuple(rows),
        tuple(notes),
        csv_columns=(
            *columns[:4],
            "Duration (min)",
            *columns[5:7],
            "Turns reviewed",
            "Turns",
            "Status",
            "Topics covered",
            "Topics in guide",
        ),
        csv_rows=tuple(csv_rows),
    )


def coverage_table(sessions: list[SessionData]) -> ReportTable:
    labels = _column_labels(sessions)
    coverages = [session_coverage(d) for d in sessions]
    rows = []
    csv_rows = []  # one row per topic and session: numbers in their own column
    for topic_id, title in _topic_order(sessions):
        cells = [title]
        for coverage, label in zip(coverages, labels, strict=True):
            entry = coverage.get(topic_id)
            if entry is None:
                cells.append(NOT_APPLICABLE)
                csv_rows.append((topic_id, title, label, "not in guide", ""))
                continue
            status = COVERAGE_LABELS.get(str(entry.get("status")), str(entry.get("status")))
            seconds = entry.get("seconds")
            minutes = ""
            cell = status
            if isinstance(seconds, (int, float)) and seconds > 0:
                minutes = f"{seconds / 60:.1f}"
                cell += f" {minutes} min"
            cells.append(cell)
            csv_rows.append((topic_id, title, label, status, minutes))
        rows.append(tuple(cells))
    return ReportTable(
        "coverage",
        "Coverage: topics × participants",
        ("Topic", *labels),
        tuple(rows),
        (
            "covered: marked covered, or every question and the summary ticked; partly: "
            f"something ticked or {BRIEF_VISIT_SECONDS:g} s or more on it, not covered; not: never "
            "reached or only passed through; skipped: marked skipped; – : not in that session's "
            "guide version or group. "
            "Minutes on the recording clock.",
        ),
        csv_columns=("Topic id", "Topic", "Participant", "Status", "Minutes"),
        csv_rows=tuple(csv_rows),
    )


def _baseline_fields(sessions: list[SessionData]) -> list[tuple[str, BaselineField | None]]:
    fields: dict[str, BaselineField | None] = {}
    for data in sorted(sessions, key=_started, reverse=True):
        if data.guide is not None:
            for spec in data.guide.baseline:
                fields.setdefault(spec.id, spec)
    for data in sessions:
        for key in data.meta.get("baseline") or {}:
            fields.setdefault(str(key), None)
    return list(fields.items())


def _baseline_answers(data: SessionData) -> dict[str, Any]:
    """``session.json``'s baseline, else the latest ``baseline_answer`` events (undo applied)."""
    stored = data.meta.get("baseline")
    if isinstance(stored, dict) and stored:
        return stored
    withdrawn = {e.data.get("undoes") for e in data.events if e.type == "undo"}
    answers: dict[str, Any] = {}
    for event in data.events:
        if event.type == "baseline_answer" and event.seq not in withdrawn:
            answers[str(event.data.get("field"))] = event.data.get("value")
    return answers


def _yes_no(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return str(value).strip().capitalize()


def _number(value: float) -> str:
    return f"{value:g}"


def baseline_table(sessions: list[SessionData]) -> ReportTable:
    """Table 1: counts per category, each participant once (their latest session)."""
    latest: dict[str, SessionData] = {}
    for data in sorted(sessions, key=_started):
        latest[data.participant] = data
    people = list(latest.values())
    answers = [_baseline_answers(d) for d in people]
    rows: list[tuple[str, ...]] = []

    def add(variable: str, counts: list[tuple[str, str]]) -> None:
        for index, (category, count) in enumerate(counts):
            rows.append((variable if index == 0 else "", category, count))

    groups = Counter(d.group or "none" for d in people)
    group_labels = {}
    for data in people:
        if data.guide is not None and data.group:
            with contextlib.suppress(KeyError):
                group_labels[data.group] = data.guide.group(data.group).label
    if any(d.group for d in people):
        add("Group", [(group_labels.get(g, g), str(n)) for g, n in groups.items()])
    for field_id, spec in _baseline_fields(sessions):
        label = spec.label if spec is not None else field_id
        values = [a.get(field_id) for a in answers]
        given = [v for v in values if v is not None and v != ""]
        missing = len(values) - len(given)
        counts: list[tuple[str, str]] = []
        if spec is not None and spec.type == "number":
            numbers = [
                float(v) for v in given if isinstance(v, (int, float)) and not isinstance(v, bool)
            ]
            if numbers:
                counts.append(
                    (
                        "median (range)",
                        f"{_number(statistics.median(numbers))} "
                        f"({_number(min(numbers))}–{_number(max(numbers))})",
                    )
                )
        else:
            if spec is not None and spec.type == "yes-no":
                tally = Counter(_yes_no(v) for v in given)
                categories = ["Yes", "No"]
            else:
                tally = Counter(str(v) for v in given)
                categories = list(spec.options) if spec is not None else []
            categories += sorted(c for c in tally if c not in categories)
            counts = [(c, str(tally.get(c, 0))) for c in categories]
        if missing:
            counts.append(("not answered", str(missing)))
        add(label, counts)
    return ReportTable(
        "baseline",
        "Baseline characteristics",
        ("Selection variables", "", f"Number of participants (n={len(people)})"),
        tuple(rows),
        ("Each participant counted once, with the answers of their latest session.",),
    )


def _guide_changes(old: Guide, new: Guide) -> list[str]:
    """What a researcher reports as "adjustments to the interview guide"."""
    changes = []
    old_topics = {t.id: t for t in old.topics}
    new_topics = {t.id: t for t in new.topics}
    for topic in new.topics:
        if topic.id not in old_topics:
            changes.append(f"topic added: {topic.title}")
    for topic in old.topics:
        if topic.id not in new_topics:
            changes.append(f"topic removed: {topic.title}")
    for topic in new.topics:
        before = old_topics.get(topic.id)
        if before is None:
            continue
        if before.title != topic.title:
            changes.append(f"topic renamed: {before.title} → {topic.title}")
        if before.minutes != topic.minutes:
            changes.append(
                f"{topic.title}: planned minutes {before.minutes:g} → {topic.minutes:g}"
                if before.minutes is not None and topic.minutes is not None
                else f"{topic.title}: planned minutes changed"
            )
        old_questions = {q.id: q for q in before.questions}
        new_questions = {q.id: q for q in topic.questions}
        for question in topic.questions:
            previous = old_questions.get(question.id)
            if previous is None:
                changes.append(f"{topic.title}: question added: {question.text}")
            elif previous.text != question.text:
                changes.append(
                    f"{topic.title}: question reworded: {previous.text} → {question.text}"
                )
            elif {p.text for p in previous.probes} != {p.text for p in question.probes}:
                changes.append(f"{topic.title}: probes changed for: {question.text}")
        for question in before.questions:
            if question.id not in new_questions:
                changes.append(f"{topic.title}: question removed: {question.text}")
        if (before.summary or "", before.summary_variants) != (
            topic.summary or "",
            topic.summary_variants,
        ):
            changes.append(f"{topic.title}: summarising prompt changed")
    old_fields = {f.id for f in old.baseline}
    new_fields = {f.id for f in new.baseline}
    changes += [f"baseline field added: {f.label}" for f in new.baseline if f.id not in old_fields]
    changes += [
        f"baseline field removed: {f.label}" for f in old.baseline if f.id not in new_fields
    ]
    if [(c.text, c.variants) for c in old.closing] != [(c.text, c.variants) for c in new.closing]:
        changes.append("closing prompts changed")
    return changes


def versions_table(sessions: list[SessionData]) -> ReportTable:
    rows = []
    notes = []
    used = _guides_in_order(sessions)
    versions_seen: Counter[str] = Counter()
    previous: Guide | None = None
    for version, guide, members in used:
        versions_seen[version] += 1
        sha = str(members[0].guide_info.get("sha256") or "")[:12]
        if previous is None:
            change = "first version used"
        elif guide is None:
            change = "could not compare: " + (members[0].guide_problem or "guide unreadable")
        else:
            found = _guide_changes(previous, guide)
            change = "; ".join(found) if found else "no change in topics, questions or baseline"
        rows.append(
            (
                version,
                sha,
                str(members[0].guide_info.get("id") or (guide.id if guide else "?")),
                ", ".join(_column_labels(members)),
                f"{_started(members[0])[:10]} – {_started(members[-1])[:10]}",
                change,
            )
        )
        if guide is not None:
            previous = guide
    for version, count in versions_seen.items():
        if count > 1:
            notes.append(
                f"Warning: version {version} was used with {count} different guide "
                "texts; bump the version when the guide changes."
            )
    return ReportTable(
        "guide_versions",
        "Interview guide versions used",
        ("Version", "sha256", "Guide", "Sessions", "Dates", "Changes from the previous version"),
        tuple(rows),
        tuple(notes),
    )


def coreq_table(sessions: list[SessionData]) -> ReportTable:
    """The COREQ (Tong et al. 2007) items the session folders can answer."""
    people = {d.participant for d in sessions}
    per_person = Counter(d.participant for d in sessions)
    repeats = sorted(p for p, n in per_person.items() if n > 1)
    durations = [x / 60 for d in sessions if d.ended and (x := d.duration_s())]
    groups = Counter(d.group for d in sessions)
    group_labels: dict[str, str] = {}
    for data in sessions:
        if data.guide is not None and data.group:
            with contextlib.suppress(KeyError):
                group_labels[data.group] = data.guide.group(data.group).label
    by_group = ""
    if any(groups):  # "none: 3" read as if no one was interviewed: name groups only if any
        by_group = (
            " ("
            + ", ".join(
                f"{group_labels.get(g, g) if g else 'no group'}: {n}"
                for g, n in sorted(groups.items(), key=lambda item: (item[0] is None, item[0]))
            )
            + ")"
        )
    interviewers = sorted(
        {str(d.meta["interviewer"]) for d in sessions if d.meta.get("interviewer")}
    )
    locations = sorted({str(d.meta["location"]) for d in sessions if d.meta.get("location")})
    recorded = sum(1 for d in sessions if d.recorded)
    notes_only = sum(1 for d in sessions if d.meta.get("notes_only"))
    with_notes = [d for d in sessions if any(e.type == "note" for e in d.events)]
    note_count = sum(1 for d in sessions for e in d.events if e.type == "note")
    present = []
    for data in sessions:
        others = data.meta.get("observers") or data.meta.get("present")
        if others:
            names = others if isinstance(others, list) else [others]
            present.append(f"{data.participant}: {', '.join(str(n) for n in names)}")
    versions = [v for v, _, _ in _guides_in_order(sessions)]
    apps = sorted({str(d.meta.get("app_version")) for d in sessions if d.meta.get("app_version")})
    engines = sorted(
        {
            " ".join(str(x) for x in (e.get("name"), e.get("version"), e.get("model")) if x)
            for d in sessions
            if d.transcript is not None
            for e in [d.transcript.engine]
            if e
        }
    )
    dates = sorted(_started(d)[:10] for d in sessions)
    interrupted = sum(1 for d in sessions if not d.ended)
    duration = (
        f"min {min(durations):.0f}, median {statistics.median(durations):.0f}, "
        f"max {max(durations):.0f} minutes (completed interviews, from the interview's start "
        "to its end on the recording clock)"
        if durations
        else "unknown"
    )
    rows = [
        ("1", "Interviewer", ", ".join(interviewers) or "not recorded"),
        (
            "12",
            "Sample size",
            f"{len(people)} participant{'s' if len(people) != 1 else ''}, "
            f"{len(sessions)} interview{'s' if len(sessions) != 1 else ''}{by_group}",
        ),
        ("14", "Setting of data collection", "; ".join(locations) or "not recorded"),
        ("15", "Presence of non-participants", "; ".join(present) or "none recorded"),
        (
            "17",
            "Interview guide",
            f"{len(versions)} version(s) used: {', '.join(versions)}"
            + (" (adjusted during the study)" if len(versions) > 1 else ""),
        ),
        ("18", "Repeat interviews", ", ".join(repeats) if repeats else "none"),
        (
            "19",
            "Audio/visual recording",
            f"audio recorded in {recorded} of {len(sessions)} "
            f"interviews" + (f"; {notes_only} notes only" if notes_only else ""),
        ),
        (
            "20",
            "Field notes",
            f"taken in {len(with_notes)} of {len(sessions)} interviews ({note_count} notes)",
        ),
        ("21", "Duration", duration),
        ("", "Dates", f"{dates[0]} – {dates[-1]}" if dates else "unknown"),
        ("", "Interrupted sessions", str(interrupted)),
        (
            "",
            "Transcribed",
            f"{sum(1 for d in sessions if d.transcript is not None)} of {len(sessions)}",
        ),
        ("", "Software", "guide-tui " + ", ".join(apps) if apps else "guide-tui"),
        ("", "Transcription models", "; ".join(engines) or "none yet"),
    ]
    return ReportTable(
        "coreq",
        "COREQ checklist: facts from the sessions",
        ("COREQ item", "Topic", "From the sessions"),
        tuple(rows),
        ("Item numbers from Tong, Sainsbury & Craig (2007), COREQ 32-item checklist.",),
    )


def build_study(sessions: list[SessionData], not_started: list[SessionData] | None = None) -> Study:
    ordered = sorted(sessions, key=lambda d: (_started(d), d.name))
    false_starts = sorted(not_started or [], key=lambda d: (_started(d), d.name))
    tables = (
        (
            sessions_table(ordered, false_starts),
            coverage_table(ordered),
            baseline_table(ordered),
            versions_table(ordered),
            coreq_table(ordered),
        )
        if ordered
        else ()
    )
    return Study(tuple(ordered), tables, not_started=tuple(false_starts))
