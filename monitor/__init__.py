"""Newsroom discrepancy monitor: tracks how coverage of a story departs from its baseline."""

__version__ = "0.1.0"
