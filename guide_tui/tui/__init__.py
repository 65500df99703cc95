"""The interview TUI (SPEC §4). The only package that imports Textual.

- ``app``: :class:`~guide_tui.tui.app.GuideApp`, built by :func:`~guide_tui.tui.app.make_app`
  (shared by ``guide-tui run`` and the tests), which owns the one path every action takes:
  ``session.post(...)`` then ``InterviewState.apply(event)`` then a redraw.
- ``screens``: pre-interview wizard, interview, closing, and the modal dialogs.
- ``widgets``: the small display widgets (topic list, clock, recorder panel, notes).
- ``picker``: the guide picker ``guide-tui run`` shows when no guide is named.

Nothing here keeps interview state of its own: what is on screen is
:class:`~guide_tui.session.state.InterviewState`, rebuilt from ``events.jsonl`` on ``--resume``.
"""
