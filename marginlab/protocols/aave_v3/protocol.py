"""Aave v3 (3.0.2: npm ``@aave/core-v3`` 1.19.3, BUSL-1.1) behind the protocol boundary, deployed from the
package's own compiled artifacts (:mod:`.artifacts`, :mod:`.deploy`); our batch reader lives in
``peers/aave-v3/``. How a plan maps onto Aave: :mod:`.layout`; accounts and the book: :mod:`.book`; reads:
:mod:`.reads`; liquidations: :mod:`.liquidation`.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from typing_extensions import assert_never

from marginlab.chain import Artifacts, ReadMode
from marginlab.errors import Issue
from marginlab.numbers import UINT256_MAX
from marginlab.protocols.aave_v3 import artifacts as aave_artifacts
from marginlab.protocols.aave_v3.artifacts import LICENSE, PEERS_BUILD, PROTOCOL_VERSION, AaveArtifacts
from marginlab.protocols.aave_v3.book import AaveBook
from marginlab.protocols.aave_v3.deploy import Deployment, configure, deploy
from marginlab.protocols.aave_v3.layout import NAME, TOKEN_KINDS, layout, reserve_params
from marginlab.protocols.aave_v3.liquidation import AaveLiquidations, aave_offers
from marginlab.protocols.aave_v3.reads import AaveReads, UserNow
from marginlab.protocols.base import (
    AccountView,
    BadDebtEvent,
    Call,
    Capabilities,
    KeeperOrder,
    Leg,
    LiquidationEvent,
    Mapping,
    Offer,
    Payment,
    Protocol,
    Reading,
    RoundResult,
)
from marginlab.protocols.eoa_liquidators import EoaLiquidators, flash_refusal
from marginlab.protocols.world import DEPLOYER, KEEPER, World
from marginlab.scenario.actions import (
    Borrow,
    Deposit,
    Donate,
    GovernanceAct,
    Liquidate,
    Repay,
    SetParams,
    SettleBadDebt,
    Transfer,
    Withdraw,
)
from marginlab.scenario.plan import Plan
from marginlab.timeline import MarketState, SubAccountRef, SubAccountState

TREASURY = "reserves"  # the reserves' treasury: Aave mints it aTokens (reserve factor, liquidation protocol fee)
#: A repay of "all" sends the debt now plus this share of it and one unit (Aave takes only what is owed;
#: interest accrues in the block the repay is mined in, and Aave refuses an explicit max on another's behalf).
ALL_DEBT_MARGIN_DIV = 1000
HEALTH_FACTOR_LIQUIDATION_THRESHOLD = 10**18


class AaveV3(EoaLiquidators, Protocol):
    name: ClassVar[str] = NAME
    license: ClassVar[str] = f"{LICENSE} (Aave v3 core: non-production use permitted); MIT (peers/aave-v3)"
    custody_name: ClassVar[str] = "aToken"
    capabilities: ClassVar[Capabilities] = Capabilities(
        cross_margin=True, isolation="address", liability_weights=False, close_factor=True, dust_rule=False,
        bad_debt="left-as-debt", token_kinds=TOKEN_KINDS)

    def __init__(self, world: World, plan: Plan, sub_accounts: list[SubAccountRef], reads: ReadMode = "chain") -> None:
        super().__init__(world, plan, sub_accounts, reads)
        self.layout = layout(plan)
        self.art = AaveArtifacts()
        self._dep: Deployment | None = None
        self._book: AaveBook | None = None
        self._reads: AaveReads | None = None
        self._liquidations: AaveLiquidations | None = None
        #: the last read of each tracked sub-account, as Aave holds it (supply and debt apart)
        self.users: dict[str, UserNow] = {}

    @classmethod
    def map_plan(cls, plan: Plan, *, strict: bool = False) -> Mapping:
        out = layout(plan, strict=strict)
        return Mapping(cls.name, tuple(out.decisions), tuple(out.refusals))

    @classmethod
    def governance_refusal(cls, act: GovernanceAct) -> str | None:
        if isinstance(act, SetParams):
            if "irm" in act.changed:
                return "changing a reserve's rate strategy is not wired up for Aave in marginlab"
            if "oracle_guards" in act.changed:
                return "AaveOracle has no price bounds or circuit breaker"
            return None
        return ("Aave pauses a whole reserve or the whole pool (every operation), not borrows, withdrawals or "
                "liquidations one by one")

    def govern(self, act: GovernanceAct) -> list[Call]:
        """The risk admin re-sends the reserve's settings (collateral, fee, reserve factor, caps)."""
        assert isinstance(act, SetParams)
        r = reserve_params(act.market)
        self.layout.reserves[act.symbol] = r
        asset = self.world.tokens[act.symbol].address
        conf = self.dep.configurator
        return [Call("", conf, "configureReserveAsCollateral", (asset, r.ltv, r.threshold,
                                                                 r.bonus if r.threshold else 0), signer=DEPLOYER),
                Call("", conf, "setReserveFactor", (asset, r.reserve_factor), signer=DEPLOYER),
                Call("", conf, "setLiquidationProtocolFee", (asset, r.protocol_fee), signer=DEPLOYER),
                Call("", conf, "setSupplyCap", (asset, r.supply_cap), signer=DEPLOYER),
                Call("", conf, "setBorrowCap", (asset, r.borrow_cap), signer=DEPLOYER)]

    @classmethod
    def extra_abis(cls) -> list[list[dict[str, Any]]]:
        return Artifacts(build_dir=PEERS_BUILD).all_abis() if PEERS_BUILD.is_dir() else []

    # ------------------------------------------------------------------------------------------------ deploy
    @property
    def dep(self) -> Deployment:
        assert self._dep is not None, "deploy first"
        return self._dep

    @property
    def book(self) -> AaveBook:
        assert self._book is not None, "deploy first"
        return self._book

    @property
    def reads(self) -> AaveReads:
        assert self._reads is not None, "deploy first"
        return self._reads

    def deploy(self) -> None:
        world = self.world
        self._dep = deploy(world, self.art, self.layout.reserves, world.address(TREASURY))
        self._book = AaveBook(world, self.plan, self._dep, self.sub_accounts)
        self._reads = AaveReads(world, self._dep)

    def deploy_keeper(self) -> str:
        keeper = self.world.signer(KEEPER)
        for sym in self.world.markets:
            self.world.approve(keeper, sym, self.dep.pool.address)
        self._liquidations = AaveLiquidations(self.world, self.dep, self.reads, self.book.owner_of,
                                              self.book.sub_address)
        return str(keeper.address)

    def custody(self) -> str:
        return str(self.dep.pool.address)

    def open_book(self) -> None:
        self.book.open_book()

    # ------------------------------------------------------------------------------------------------ verbs
    def encode(self, leg: Leg) -> list[Call]:
        action, sym, amount, label = leg.action, leg.symbol, leg.amount, leg.label
        world, pool, book = self.world, self.dep.pool, self.book
        match action:
            case Deposit():
                assert sym is not None
                return [book.supply(action.owner, action.sub_id, sym, amount, label)]
            case Withdraw():
                assert sym is not None
                return [Call(label, pool, "withdraw", (world.tokens[sym].address, amount,
                                                       world.address(action.account)),
                             signer=book.signer_name(action.account, action.sub_id))]
            case Borrow():
                assert sym is not None
                return [book.borrow(action.account, action.sub_id, sym, amount, label)]
            case Repay():
                assert sym is not None
                send = amount
                if amount == UINT256_MAX:
                    owed = self.debt(action.owner, action.sub_id, sym)
                    send = owed + owed // ALL_DEBT_MARGIN_DIV + 1
                return [Call(label, pool, "repay", (world.tokens[sym].address, send, 2,
                                                    book.sub_address(action.owner, action.sub_id)),
                             Payment(sym, send, pool.address))]
            case Transfer():
                assert sym is not None
                a_token = self.dep.tokens[sym][0]
                if amount == UINT256_MAX:
                    amount = int(world.chain.call(a_token, "balanceOf", book.sub_address(action.account,
                                                                                          action.sub_id)))
                return [Call(label, a_token, "transfer", (book.sub_address(action.account, action.to_sub_id), amount),
                             signer=book.signer_name(action.account, action.sub_id))]
            case Donate():
                assert sym is not None
                return [Call(label, world.tokens[sym], "transfer", (self.dep.tokens[sym][0].address, amount),
                             Payment(sym, amount, None))]
            case Liquidate():
                return [Call(label, pool, "liquidationCall",
                             (world.tokens[action.collateral].address, world.tokens[action.debt].address,
                              book.sub_address(action.target, action.target_sub_id), action.amount, True),
                             Payment(action.debt, action.amount, pool.address, (action.target, action.target_sub_id)),
                             signer=book.signer_name(action.account, action.sub_id))]
            case SettleBadDebt():
                raise AssertionError(f"{NAME} refuses settle_bad_debt when the plan is mapped")
            case _:
                assert_never(action)

    def debt(self, owner: str, sub_id: int, symbol: str) -> int:
        return int(self.world.chain.call(self.dep.tokens[symbol][1], "balanceOf", self.book.sub_address(owner, sub_id)))

    # ------------------------------------------------------------------------------------------------ reads
    def read_accounts(self, keys: set[str] | None = None) -> Reading:
        refs = [r for r in self.sub_accounts if keys is None or r.key in keys]
        snap = self.reads.snapshot([self.book.sub_address(r.owner, r.sub_id) for r in refs])
        out: dict[str, SubAccountState] = {}
        for ref, user in zip(refs, snap.users, strict=True):
            if user.account is None:
                faulted = [s for s, r in snap.reserves.items() if r.price is None]
                where = f"AaveOracle.getAssetPrice({', '.join(faulted)})" if faulted else "Pool.getUserAccountData"
                return Reading(None, aave_artifacts.explain(self.world.chain.decoder.decode(user.account_revert)),
                               f"{where} (through getUserAccountData of {ref.key})")
            self.users[ref.key] = user
            out[ref.key] = self.reads.state(user)
        return Reading(out)

    def read_markets(self) -> dict[str, MarketState]:
        return self.reads.market_states(self.reads.latest())

    def liquidatable(self, state: SubAccountState) -> bool:
        """Aave's own rule: a health factor below 1 (ValidationLogic.validateLiquidationCall)."""
        return state.health_factor is not None and state.health_factor < HEALTH_FACTOR_LIQUIDATION_THRESHOLD

    # ------------------------------------------------------------------------------------------------ keeper
    def offers(self, account: AccountView, prices: dict[str, Decimal]) -> list[Offer]:
        user = self.users.get(account.key)
        if user is None:
            return []
        decimals = {s: m.decimals for s, m in self.world.markets.items()}
        return aave_offers(account, user, prices, decimals, self.layout.reserves)

    def run_keeper(self, orders: list[KeeperOrder]) -> RoundResult:
        return self.liquidations.run_keeper(orders)

    def decode_events(self, receipt: dict[str, Any]) -> list[LiquidationEvent | BadDebtEvent]:
        return self.liquidations.decode_events(receipt)

    # keepers with a balance sheet (``keepers:``): each its own account, paid in the underlying collateral
    @classmethod
    def keepers_refusal(cls, plan: Plan) -> Issue | None:
        return flash_refusal(cls.name, plan)

    def liquidator_spender(self) -> str:
        return str(self.dep.pool.address)

    def run_keeper_as(self, liquidator: Any, orders: list[KeeperOrder]) -> RoundResult:
        return self.liquidations.run_keeper(orders, liquidator)

    @property
    def liquidations(self) -> AaveLiquidations:
        if self._liquidations is None:  # a scenario's own liquidate verb before the keeper's contract: decode anyway
            self._liquidations = AaveLiquidations(self.world, self.dep, self.reads, self.book.owner_of,
                                                  self.book.sub_address)
        return self._liquidations

    def provenance(self) -> dict[str, str]:
        return {"protocol": self.name,
                "package": f"{aave_artifacts.PACKAGE_NAME} {aave_artifacts.package_version()} (npm): Aave v3 "
                           f"{PROTOCOL_VERSION}, deployed from its hardhat artifacts",
                "license": self.license,
                "compiler": "solc 0.8.10, optimizer 100000 runs (Aave's own build, as shipped); peers/aave-v3: "
                            "solc 0.8.24",
                "evm_version": "london target, no opcode newer than istanbul (Aave's); istanbul (peers/aave-v3)"}


__all__ = ["AaveV3", "configure"]
