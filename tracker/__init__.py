"""tracker: an event-sourced, tamper-evident tracker of regulatory change for CGT products."""

__version__ = "0.1.0"
