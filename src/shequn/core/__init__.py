"""The domain's vocabulary: events come in, actions go out, messages are segments.

Pure code: nothing here touches a database, a network or the clock.
"""

from shequn.core.actions import Action, ActionType
from shequn.core.events import Event, EventType, Role
from shequn.core.message import (
    Face,
    File,
    Image,
    Link,
    Media,
    Mention,
    Message,
    Poll,
    Quote,
    Segment,
    Sticker,
    Text,
)
from shequn.core.stored import StoredEvent

__all__ = [
    "Action",
    "ActionType",
    "Event",
    "EventType",
    "Face",
    "File",
    "Image",
    "Link",
    "Media",
    "Mention",
    "Message",
    "Poll",
    "Quote",
    "Role",
    "Segment",
    "Sticker",
    "StoredEvent",
    "Text",
]
