"""Data: splits from local files or the Hub, and the checks on user text."""
