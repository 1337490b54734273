"""briefbot: a self-hosted Discord bot that turns news feeds into condensed digests."""

__version__ = "0.1.0"
