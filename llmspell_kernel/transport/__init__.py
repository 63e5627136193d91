"""How messages travel between a kernel and its clients (in-process queues or ZeroMQ)."""
