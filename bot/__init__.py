"""briefbot: a self-hosted Discord bot that turns news feeds into condensed digests."""

import os

# One BLAS thread, set before numpy loads. briefbot's matrix products are small (a
# batch of stories against a few thousand stored ones); OpenBLAS's extra threads
# spin for them, doubling the CPU the topic head's neighbour votes cost (bench/README).
# A user's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
