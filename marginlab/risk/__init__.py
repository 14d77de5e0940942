"""Risk analytics over many replays: tail statistics with bootstrap intervals (``stats``), figures read from a
book or a timeline (``book``), the sweep's risk tables and charts (``tables``, ``charts``). Pure: reads plans,
timelines and sweep results, never a chain."""
