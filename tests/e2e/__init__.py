"""End-to-end tests: the real bot against the loopback Discord stand-in."""
