"""Matrix: a bot account on any homeserver, through matrix-nio.

Rooms are groups, user ids (``@name:server``) are accounts and event ids are
message ids; moderation is done with power levels, which is how Matrix itself
grants and withholds the right to speak.
"""

from shequn.adapters.matrix.adapter import MatrixAdapter
from shequn.adapters.matrix.config import MatrixConfig
from shequn.adapters.matrix.message import Rendered, from_matrix, to_platform

__all__ = ["MatrixAdapter", "MatrixConfig", "Rendered", "from_matrix", "to_platform"]
