"""The PySide6 window (a later release). Nothing in the engine imports this."""
