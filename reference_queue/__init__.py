"""Reference queues: ``naive`` (the design note, bugs included) and ``safe`` (leases,
fencing tokens, atomic Lua), behind one :class:`~harness.contract.TaskQueue`
interface whose operations are generators that yield between Redis round trips.
"""

from reference_queue.factory import IMPLS, connect, make_queue, queue_class

__all__ = ["IMPLS", "connect", "make_queue", "queue_class"]
