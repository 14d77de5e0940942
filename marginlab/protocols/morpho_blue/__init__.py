"""Morpho Blue (npm @morpho-org/morpho-blue 1.0.0, BUSL-1.1) as a protocol."""
