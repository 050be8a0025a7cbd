"""Private parts of :class:`citybridge.hub.Hub`, grouped by service; use the Hub, not these."""
