"""``python -m guide_tui`` is the same as the ``guide-tui`` command."""

from guide_tui.cli import main

raise SystemExit(main())
