"""Aave v3 (3.0.2, npm ``@aave/core-v3`` 1.19.3) behind the protocol boundary."""
