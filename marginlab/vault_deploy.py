"""Deploying a Vault: its two delegatecall modules first, then the vault, which checks them in its constructor.

The modules are deployed on their own (not by the vault's constructor) so that the vault's creation code stays
under EIP-3860's 49,152-byte init-code limit. ``module_signer`` sends the two module deployments: the replay
uses a signer of its own for them, so the deployer's nonce, and with it the vault's and every later contract's
address, is what it was when the vault created its modules itself.
"""
from __future__ import annotations

from typing import Any

from web3.contract import Contract

from marginlab.chain import Artifacts, Chain, Signer

MODULES = ("VaultLiquidation", "VaultGovernance")  # the order of the vault's constructor arguments
BOOK_KEYS = {"VaultLiquidation": "liquidation module", "VaultGovernance": "governance module"}  # address book


def deploy_vault(chain: Chain, art: Artifacts, deployer: Signer, module_signer: Signer, governor: str,
                 guardian: str, router: Any) -> tuple[Contract, dict[str, Contract]]:
    """The vault, and its modules by contract name."""
    modules = {name: chain.deploy(module_signer, art, name, router) for name in MODULES}
    vault = chain.deploy(deployer, art, "Vault", governor, guardian, router,
                         *(modules[name].address for name in MODULES))
    return vault, modules
