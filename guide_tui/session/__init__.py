"""The session: a folder per interview with its metadata, frozen guide and event log.

``store`` writes and reads the folder, ``events`` defines the log's lines, ``clock`` gives events
their ``t``, ``pseudonym`` checks participant names before they become folder names, and
``state`` rebuilds what the interview screen shows from the events. All plain Python: cheap to
import, no Textual, no audio.
"""

from guide_tui.session.clock import Clock, FrozenClock, MonotonicClock
from guide_tui.session.events import Event, EventType
from guide_tui.session.pseudonym import folder_name, validate_pseudonym
from guide_tui.session.store import (
    Session,
    SessionSummary,
    TornLine,
    list_sessions,
    read_events,
)

__all__ = [
    "Clock",
    "Event",
    "EventType",
    "FrozenClock",
    "MonotonicClock",
    "Session",
    "SessionSummary",
    "TornLine",
    "folder_name",
    "list_sessions",
    "read_events",
    "validate_pseudonym",
]
