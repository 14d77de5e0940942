"""Plan + chain + protocol → timeline: the replay engine, its actors and its parts."""
