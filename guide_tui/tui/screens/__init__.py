"""Screens of the interview TUI: pre-interview wizard, interview, closing, modal dialogs."""
