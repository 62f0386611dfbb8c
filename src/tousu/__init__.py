"""Tousu (投诉): complaint handling on statutory clocks."""

__version__ = "0.1.0"
