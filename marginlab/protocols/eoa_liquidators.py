"""Keepers with a balance sheet (scenario ``keepers:``, issue 17) on protocols that pay the liquidator directly:
Aave v3's ``liquidationCall(…, receiveAToken = false)`` and Morpho Blue's ``liquidate`` send the seized
collateral to ``msg.sender`` and pull the repayment from it, so each keeper is its own externally owned account
(a deterministic system signer named after the keeper) that holds only the inventory the scenario gives it,
approves the protocol once, and sells what it seized into the pools itself. No contract means no Uniswap v2
flash-swap callback: ``flash: true`` is refused on these protocols (:func:`flash_refusal`)."""
from __future__ import annotations

from typing import Any

from marginlab.chain import Signer
from marginlab.errors import Issue
from marginlab.protocols.base import KeeperOrder, RoundResult
from marginlab.protocols.world import World
from marginlab.scenario.plan import Plan


def flash_refusal(name: str, plan: Plan) -> Issue | None:
    """The one line refusing a keeper's ``flash: true`` on protocol ``name`` (None when no keeper asks for it)."""
    for i, spec in enumerate(plan.keepers):
        if spec.flash:
            return Issue(plan.file, plan.keepers_line, f"keepers[{i}].flash",
                         f"{name}: keepers are accounts that liquidate directly, with no contract to take a Uniswap "
                         f"v2 flash swap's callback: flash: true is marginlab's vault only")
    return None


class EoaLiquidators:
    """``deploy_liquidator``, ``release_seized`` and ``liquidator_call`` for a protocol that pays the liquidator
    directly (mixed into its :class:`~marginlab.protocols.base.Protocol`); the protocol supplies
    :meth:`liquidator_spender` and ``run_keeper_as``."""

    world: World

    def liquidator_spender(self) -> str:
        """The address that pulls the repayment from a keeper (the protocol's custody)."""
        raise NotImplementedError  # the protocol's

    def deploy_liquidator(self, name: str) -> Signer:
        world = self.world
        signer = world.chain.signer("system", f"liquidator:{name}")
        world.name(signer.address, name)  # the liquidator in the protocol's liquidation events
        for sym in world.markets:
            world.approve(signer, sym, self.liquidator_spender())
        return signer

    def liquidator_address(self, liquidator: Any) -> str:
        return str(liquidator.address)

    def flash_liquidate(self, liquidator: Any, pair: str, order: KeeperOrder, repay: int) -> RoundResult:
        raise NotImplementedError("flash: true is refused on this protocol (keepers_refusal)")

    def release_seized(self, liquidator: Any, symbol: str) -> int:
        """The protocol already sent the seizure to the keeper's account: its balance is all it holds."""
        return self.world.balance(symbol, liquidator.address)

    def liquidator_call(self, liquidator: Any, contract: Any, fn: str, *args: Any) -> dict[str, Any]:
        return self.world.chain.transact(liquidator, contract, fn, *args)
