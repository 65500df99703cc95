"""CLI sub-commands. Each module defines ``register(subparsers)``; see ``guide_tui.cli``.

Modules here import only the standard library at module level: the CLI must start fast.
"""
