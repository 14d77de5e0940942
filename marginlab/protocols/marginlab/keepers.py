"""Keepers with a balance sheet on marginlab's vault (scenario ``keepers:``, issue 17): each keeper is its own
``SimKeeper`` contract, owned by the simulator's keeper signer, holding only the inventory the scenario gives it.
The vault credits what it seizes to the keeper's sub-account 0; :meth:`release_seized` withdraws it to the
contract's own token balance, from where the keeper sells it into a pool (``SimKeeper.execute``)."""
from __future__ import annotations

from typing import Any

from web3.contract import Contract

from marginlab.chain import TxReverted
from marginlab.errors import Issue
from marginlab.numbers import UINT256_MAX
from marginlab.protocols.base import KeeperOrder, RoundResult
from marginlab.protocols.marginlab.liquidation import KeeperBot
from marginlab.protocols.marginlab.reads import KEEPER_SUB_ID
from marginlab.protocols.world import KEEPER, World
from marginlab.scenario.plan import Plan


class VaultLiquidators:
    """The vault's side of ``keepers:`` (mixed into :class:`~marginlab.protocols.marginlab.protocol.MarginlabVault`)."""

    world: World

    @property
    def vault(self) -> Contract:
        raise NotImplementedError  # the protocol's

    @classmethod
    def keepers_refusal(cls, plan: Plan) -> Issue | None:
        return None

    def deploy_liquidator(self, name: str) -> Contract:
        world = self.world
        keeper = world.signer(KEEPER)
        bot = world.chain.deploy(keeper, world.artifacts, "SimKeeper", self.vault.address)
        world.name(bot.address, name)  # the liquidator in Liquidated events
        world.chain.transact(keeper, bot, "approveAll", [t.address for t in world.tokens.values()])
        return bot

    def liquidator_address(self, liquidator: Any) -> str:
        return str(liquidator.address)

    def run_keeper_as(self, liquidator: Any, orders: list[KeeperOrder]) -> RoundResult:
        result = KeeperBot(self.world, liquidator, self.vault, KEEPER_SUB_ID).run(orders)
        self.touch_keys({o.key for o in orders})
        return result

    def flash_liquidate(self, liquidator: Any, pair: str, order: KeeperOrder, repay: int) -> RoundResult:
        world = self.world
        assert order.debt is not None and order.collateral is not None
        result = RoundResult()
        try:
            receipt = world.chain.transact(world.signer(KEEPER), liquidator, "flashLiquidate", pair,
                                           world.address(order.owner), order.sub_id,
                                           world.tokens[order.debt].address, world.tokens[order.collateral].address,
                                           repay, KEEPER_SUB_ID)
        except TxReverted as exc:
            result.failed[0] = exc.reason
            return result
        finally:
            self.touch_keys({order.key})
        result.receipts.append(receipt)
        return result

    def touch_keys(self, keys: set[str]) -> None:
        """The sub-accounts a keeper acted on (the vault's incremental reads re-read them)."""
        raise NotImplementedError  # the protocol's

    def release_seized(self, liquidator: Any, symbol: str) -> int:
        token = self.world.tokens[symbol]
        credited = int(self.world.chain.call(self.vault, "balanceOf", liquidator.address, KEEPER_SUB_ID,
                                             token.address))
        if credited <= 0:
            return self.world.balance(symbol, liquidator.address)
        self.liquidator_call(liquidator, self.vault, "withdraw", KEEPER_SUB_ID, token.address, UINT256_MAX,
                             liquidator.address)
        return self.world.balance(symbol, liquidator.address)

    def liquidator_call(self, liquidator: Any, contract: Any, fn: str, *args: Any) -> dict[str, Any]:
        data = getattr(contract.functions, fn)(*args)._encode_transaction_data()
        return self.world.chain.transact(self.world.signer(KEEPER), liquidator, "execute", contract.address,
                                         bytes.fromhex(data[2:]))
