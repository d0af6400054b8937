"""WeCom (企业微信) customer groups: roster changes in, mass messages out."""

from shequn.adapters.wecom.adapter import JoinWay, WeComAdapter
from shequn.adapters.wecom.callback import CallbackRejected, WeComCallback
from shequn.adapters.wecom.config import WeComConfig

__all__ = ["CallbackRejected", "JoinWay", "WeComAdapter", "WeComCallback", "WeComConfig"]
