"""The simulated platform: an in-process chat platform for the demo, the playground and tests.

It behaves like a real one where it matters to shequn — a muted member cannot
speak, a kicked member is gone and the kick comes back as an event, a deleted
message is gone — and it keeps a journal of every action a bot performed, which
is how the tests prove that each action happened exactly once.
"""

from shequn.adapters.sim.adapter import SimAdapter
from shequn.adapters.sim.config import SimPlatformConfig
from shequn.adapters.sim.world import Refused, SimWorld

__all__ = ["Refused", "SimAdapter", "SimPlatformConfig", "SimWorld"]
