"""knotball host tools: replay, flash, live view, logs. The firmware package is `ball`."""

from ball import VERSION as __version__

__all__ = ["__version__"]
