"""The Python client of the Nautilus Backtest API: ``from client import Client``."""

from client.api import Client, ClientError, Job, Results

__all__ = ["Client", "ClientError", "Job", "Results"]
