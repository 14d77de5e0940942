"""A local node through web3.py. Knows no scenario words and no protocol.

The facade other packages use is re-exported here; the parts live in their own modules, each importing only
modules before it in this list: rpc (requests and failures), events (a receipt's events), receipts (formatted as
web3 does), reverts, artifacts, backends (one class per node), signers, gas, mining, automine, calls, client (the
:class:`Chain` facade).
"""
from marginlab.chain.artifacts import Artifacts, find_build_dir
from marginlab.chain.client import Chain, ChainOptions, ReadMode
from marginlab.chain.mining import MINING_MODES, MiningMode, PendingTx
from marginlab.chain.reverts import RevertDecoder, TxReverted, revert_data
from marginlab.chain.signers import Signer

__all__ = ["MINING_MODES", "Artifacts", "Chain", "ChainOptions", "MiningMode", "PendingTx", "ReadMode", "RevertDecoder",
           "Signer", "TxReverted", "find_build_dir", "revert_data"]
