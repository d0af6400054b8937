"""Telegram: one bot account in groups and supergroups, through the Bot API (aiogram).

Group messages, joins, leaves, join requests and member changes become Events;
every moderation and messaging action Telegram lets a bot do is supported
except per-group display names, which Telegram does not have.
"""

from shequn.adapters.telegram.adapter import ALLOWED_UPDATES, BadUpdate, TelegramAdapter
from shequn.adapters.telegram.config import TelegramConfig
from shequn.adapters.telegram.message import Attachment, Rendered, from_text, to_platform

__all__ = [
    "ALLOWED_UPDATES",
    "Attachment",
    "BadUpdate",
    "Rendered",
    "TelegramAdapter",
    "TelegramConfig",
    "from_text",
    "to_platform",
]
