"""One-shot (weight-sharing) strategies for the ``supernet`` oracle: DARTS, GDAS, RSPS, SETN, ENAS.

See :mod:`.base` for the loop they share and docs/oneshot.md for the protocol and its deviations.
"""
