"""Group templates and replication: what a new group starts with, the community's pool of
groups with its capacity watch, and the rotating invite (群活码) that sends each newcomer to
a group with room and remembers which source brought them.

Pure logic: ``template`` (snapshot and application), ``pool`` (``pick``, ``watch``),
``visits`` (source labels, attribution). Stored: ``service`` (templates), ``places`` (the
pool), ``invites`` (invites and visits). Runtime: ``ticker.PoolTicker`` and
``processor.InviteAttributionProcessor``.
"""
