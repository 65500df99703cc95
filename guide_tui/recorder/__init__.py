"""Audio capture (SPEC §5). Only this package imports sounddevice, and only inside the modules
that capture; ``guide_tui.recorder.base`` (the contract the TUI uses) imports nothing heavy."""
