"""QQ, and WeChat where a bridge speaks it, through the OneBot v11 protocol.

shequn does not log in to QQ itself: a bridge (NapCat, Lagrange.OneBot, LLOneBot…)
does, and connects to shequn's reverse-WebSocket server to deliver events and
carry out API calls. One adapter serves one bot account.
"""

from shequn.adapters.onebot.adapter import OneBotAdapter
from shequn.adapters.onebot.config import OneBotConfig
from shequn.adapters.onebot.message import Rendered, from_platform, to_platform

__all__ = ["OneBotAdapter", "OneBotConfig", "Rendered", "from_platform", "to_platform"]
