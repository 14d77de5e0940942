"""A local node through web3.py. Knows no scenario words and no protocol.

The facade other packages use is re-exported here; the parts live in their own modules.
"""
from marginlab.chain.client import (Artifacts, Chain, ChainOptions, PendingTx, RevertDecoder, Signer, TxReverted,
                                    find_build_dir)

__all__ = ["Artifacts", "Chain", "ChainOptions", "PendingTx", "RevertDecoder", "Signer", "TxReverted",
           "find_build_dir"]
