"""A local node through web3.py. Knows no scenario words and no protocol.

The facade other packages use is re-exported here; the parts live in their own modules.
"""
from marginlab.chain.artifacts import Artifacts, find_build_dir
from marginlab.chain.client import MINING_MODES, Chain, ChainOptions, MiningMode, PendingTx, ReadMode, Signer
from marginlab.chain.reverts import RevertDecoder, TxReverted, revert_data

__all__ = ["MINING_MODES", "Artifacts", "Chain", "ChainOptions", "MiningMode", "PendingTx", "ReadMode", "RevertDecoder",
           "Signer", "TxReverted", "find_build_dir", "revert_data"]
