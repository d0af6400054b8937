"""Telegram Desktop JSON exports (``result.json``)."""
