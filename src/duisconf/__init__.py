"""duisconf: a conformance suite for the DCC User Interface (DUIS) of GB smart metering."""

__version__ = "0.1.0"
