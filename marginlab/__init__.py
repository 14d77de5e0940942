"""marginlab: a simulator for pooled cross-margin DeFi lending protocols."""

__version__ = "0.1.0"
