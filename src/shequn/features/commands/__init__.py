"""Operator commands typed in chat (``/mute @x 10m``, ``/警告 @x 刷屏``): parsing, permission
and the resulting actions, all pure (see ``logic``)."""
