"""The mini vault (``contracts/MiniVault.sol`` beside this file) behind marginlab's protocol boundary.

    marginlab replay examples/mini-vault/scenario.yaml --protocol examples/mini-vault/adapter.py:MiniVault

An isolated-margin vault: a position (owner, sub-account id) holds one collateral and one debt asset; lenders
supply per asset. This file is the walk-through of docs/protocols/your-own-protocol.md: it imports only the public
boundary (``marginlab.protocols.base``/``world``/``build``, ``marginlab.scenario``, ``marginlab.timeline``,
``marginlab.chain``), never marginlab's own vault.

How a scenario maps (:meth:`MiniVault.map_plan`):

- asset weights → the collateral's ``ltv`` (init) and ``liquidationThreshold`` (maint); ``liquidation_bonus``,
  ``irm`` (the same kinked curve, accrued per second) and ``heartbeat`` (the feed's staleness limit): mapped;
- liability weights, protocol share, reserve factor and caps: honoured at their neutral values (1, 0, 0, none),
  otherwise not honoured (listed in the report; refused under ``--strict``);
- refused: a sub-account holding more than one collateral or debt asset (cross margin across assets), the same
  asset as collateral and debt, ``transfer`` and ``settle_bad_debt`` actions, a liquidity provider borrowing,
  hostile token kinds, feeds with more than 18 decimals.
"""
from __future__ import annotations

from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any, ClassVar

from typing_extensions import assert_never  # typing's own from Python 3.11
from web3.contract import Contract
from web3.logs import DISCARD

from marginlab.chain import Artifacts, ReadMode, TxReverted
from marginlab.protocols.base import (
    AccountView,
    BadDebtEvent,
    Call,
    Capabilities,
    Decision,
    Issue,
    KeeperOrder,
    Leg,
    LiquidationEvent,
    Mapping,
    Offer,
    Outcome,
    Payment,
    Protocol,
    Reading,
    RoundResult,
    refusal,
)
from marginlab.protocols.build import compile_folder, default_out
from marginlab.protocols.world import KEEPER, World
from marginlab.scenario.actions import (
    Borrow,
    Deposit,
    Donate,
    Liquidate,
    Repay,
    SettleBadDebt,
    Source,
    Transfer,
    Withdraw,
)
from marginlab.scenario.plan import Plan
from marginlab.timeline import MarketState, SubAccountRef, SubAccountState

CONTRACTS = Path(__file__).resolve().parent / "contracts"
WAD = 10**18
UINT256_MAX = 2**256 - 1  # "all" in the scenario's amounts, and the vault's health factor without debt
MAX_FEED_DECIMALS = 18
#: Plain ERC-20s only: the vault credits the amount sent (a fee-on-transfer token would leave it short) and was not
#: written for hooks, pauses or odd return values.
TOKEN_KINDS = frozenset({"plain"})


def wad(x: Decimal) -> int:
    """A scenario fraction as a WAD integer (scenario numbers are exact decimals with at most 18 places here)."""
    return int(x.scaleb(18))


class MiniVault(Protocol):
    name: ClassVar[str] = "mini-vault"
    license: ClassVar[str] = "MIT"
    capabilities: ClassVar[Capabilities] = Capabilities(
        cross_margin=False, isolation="sub-account", liability_weights=False, close_factor=False, dust_rule=False,
        bad_debt="left-as-debt", token_kinds=TOKEN_KINDS)

    def __init__(self, world: World, plan: Plan, sub_accounts: list[SubAccountRef], reads: ReadMode = "chain") -> None:
        super().__init__(world, plan, sub_accounts, reads)
        self._vault: Contract | None = None
        self._artifacts: Artifacts | None = None
        self.lenders = {lp.name for lp in plan.liquidity}

    # ------------------------------------------------------------------------------------------------ mapping
    @classmethod
    def map_plan(cls, plan: Plan, *, strict: bool = False) -> Mapping:
        """Every market setting and every sub-account, decided before any chain work (pure)."""
        decisions: list[Decision] = []
        refusals: list[Issue] = []

        def decide(scope: str, setting: str, outcome: Outcome, detail: str, source: Source, field: str) -> None:
            if outcome == "not-honoured" and strict:
                refusals.append(refusal(plan, source, f"{cls.name} does not honour it (--strict): {detail}",
                                        field=field))
            else:
                decisions.append(Decision(scope, setting, outcome, detail))

        def refuse(source: Source, reason: str, field: str | None = None) -> None:
            refusals.append(refusal(plan, source, f"{cls.name} cannot express this: {reason}", field=field))

        for m, src in zip(plan.markets, plan.market_sources, strict=True):
            s = m.symbol
            decide(s, "asset_weight", "mapped", "init → ltv, maint → liquidationThreshold", src, "asset_weight")
            for setting, detail in (("liquidation_bonus", "the collateral's liquidationBonus"),
                                    ("irm", "the same kinked curve, accrued per second"),
                                    ("heartbeat", "the feed's staleness limit")):
                decide(s, setting, "mapped", detail, src, setting)
            # Settings the vault has no knob for: honoured when the scenario asks for what the vault does anyway.
            lw, share, rf = m.liab_weight, m.protocol_share, m.reserve_factor
            for setting, holds, rule, asked in (
                    ("liab_weight", lw.init == lw.maint == 1, "debt counts at its value (weight 1)",
                     f"{lw.init} / {lw.maint}"),
                    ("protocol_share", share == 0, "the whole bonus goes to the liquidator", f"{share} to the vault"),
                    ("reserve_factor", rf == 0, "all interest goes to lenders", f"{rf} to reserves"),
                    ("supply_cap", m.supply_cap is None, "no supply cap", f"a cap of {m.supply_cap}"),
                    ("borrow_cap", m.borrow_cap is None, "no borrow cap", f"a cap of {m.borrow_cap}")):
                if holds:
                    decide(s, setting, "honoured", rule, src, setting)
                else:
                    decide(s, setting, "not-honoured", f"{rule}, not {asked}", src, setting)
            if m.token.kind not in TOKEN_KINDS:
                refuse(src, f"token kind {m.token.kind}: the mini vault takes plain ERC-20s only", "token")
            if m.feed_decimals > MAX_FEED_DECIMALS:
                refuse(src, f"a feed with {m.feed_decimals} decimals: at most {MAX_FEED_DECIMALS}", "feed_decimals")
        if plan.keeper.settle_bad_debt:
            decisions.append(Decision("protocol", "keeper.settle_bad_debt", "honoured",
                                      "nothing to settle: bad debt is left as debt on the position (BadDebtLeft)"))

        # What each sub-account will hold: its positions' deposits and borrows, and every later deposit and borrow.
        lenders = {lp.name for lp in plan.liquidity}
        held: dict[tuple[str, int], tuple[set[str], set[str], Source]] = {}
        for acct in plan.accounts:
            for i, pos in enumerate(acct.positions):
                colls, debts, _ = held.setdefault((acct.name, acct.sub_id(i)), (set(), set(), acct.source))
                colls.update(s for s, v in pos.deposit.items() if v > 0)
                debts.update(s for s, v in pos.borrow.items() if v > 0)
        for step in plan.steps:
            for action in step.actions:
                match action:
                    case Deposit() if action.owner not in lenders:
                        held.setdefault((action.owner, action.sub_id), (set(), set(), action.source))[0].update(
                            action.amounts)
                    case Borrow() if action.account in lenders:
                        refuse(action.source, "a liquidity provider only supplies and withdraws", "borrow")
                    case Borrow():
                        held.setdefault((action.account, action.sub_id), (set(), set(), action.source))[1].update(
                            action.amounts)
                    case Transfer():
                        refuse(action.source, "positions cannot move balances between each other", "transfer")
                    case SettleBadDebt():
                        refuse(action.source, "bad debt is left as debt, there is no write-off call",
                               "settle_bad_debt")
                    case Liquidate():
                        decide(action.account, "liquidate.to_position", "not-honoured",
                               "seized collateral goes to the liquidator's wallet, not into a sub-account",
                               action.source, "liquidate")
                    case Deposit() | Repay() | Withdraw() | Donate():
                        pass
                    case _:
                        assert_never(action)
        for (owner, sub), (colls, debts, src) in sorted(held.items()):
            if len(colls) > 1 or len(debts) > 1 or colls & debts:
                refuse(src, f"{owner}/{sub} would hold {', '.join(sorted(colls)) or 'nothing'} as collateral and "
                            f"{', '.join(sorted(debts)) or 'nothing'} as debt, but a position holds one collateral "
                            f"asset and one other debt asset (no cross margin across assets): give each pair its own "
                            f"position with margin: isolated")
        return Mapping(cls.name, tuple(decisions), tuple(refusals))

    # ------------------------------------------------------------------------------------------------ deploy
    @property
    def vault(self) -> Contract:
        assert self._vault is not None, "deploy first"
        return self._vault

    @classmethod
    def artifacts(cls) -> Artifacts:
        """contracts/ compiled with the project's compiler into build/protocols/mini-vault/ (a no-op when nothing
        changed since the last call)."""
        return compile_folder(CONTRACTS, default_out(cls.name))

    @classmethod
    def extra_abis(cls) -> list[list[dict[str, Any]]]:
        """The vault's ABIs, so its custom errors decode to their names (the engine asks before any chain work:
        a compile error stops the run there, in one line)."""
        return cls.artifacts().all_abis()

    def deploy(self) -> None:
        """Deploy the vault with every market listed on the world's shared tokens and feeds."""
        world = self.world
        self._artifacts = self.artifacts()
        tokens = [world.tokens[m.symbol].address for m in self.plan.markets]
        configs = [(world.feeds[m.symbol].address, m.heartbeat, wad(m.asset_weight.init), wad(m.asset_weight.maint),
                    wad(m.liquidation_bonus), wad(m.irm.base), wad(m.irm.slope1), wad(m.irm.slope2), wad(m.irm.kink))
                   for m in self.plan.markets]
        self._vault = world.chain.deploy(world.deployer, self._artifacts, "MiniVault", tokens, configs)
        world.label(self.vault.address, self.custody_name)

    def deploy_keeper(self) -> str:
        """The keeper liquidates from its own address (no contract): it lets the vault pull every token."""
        keeper = self.world.signer(KEEPER)
        for sym in self.world.tokens:
            self.world.approve(keeper, sym, self.vault.address)
        return str(keeper.address)

    def custody(self) -> str:
        return str(self.vault.address)

    def open_book(self) -> None:
        """Wallets, then lenders' supply, every position's collateral, then every borrow: one transaction each,
        sent by the owner (the minted tokens come from outside, as in every replay)."""
        world, plan = self.world, self.plan
        for lp in plan.liquidity:
            for sym, amount in lp.deposits.items():
                self._setup(lp.name, f"supply({world.amount(amount, sym)})", sym, amount, "deposit", "supply",
                            world.address(lp.name), self._token(sym), amount, pay=True, wallet=False)
        for acct in plan.accounts:
            owner = world.address(acct.name)
            for i, pos in enumerate(acct.positions):
                for sym, amount in pos.deposit.items():
                    self._setup(acct.name, f"deposit({world.amount(amount, sym)}, sub {acct.sub_id(i)})", sym, amount,
                                "deposit", "depositCollateral", owner, acct.sub_id(i), self._token(sym), amount,
                                pay=True, wallet=sym in acct.wallet)
        for acct in plan.accounts:
            owner = world.address(acct.name)
            for i, pos in enumerate(acct.positions):
                for sym, amount in pos.borrow.items():
                    self._setup(acct.name, f"borrow({world.amount(amount, sym)}, sub {acct.sub_id(i)})", sym, amount,
                                "borrow", "borrow", acct.sub_id(i), self._token(sym), amount, owner)

    def _setup(self, name: str, label: str, sym: str, amount: int, kind: str, fn: str, *args: Any, pay: bool = False,
               wallet: bool = False) -> None:
        if amount <= 0:
            return
        signer = self.world.signer(name)
        if pay:
            self.world.fund(signer, sym, amount, self.vault.address, empty_wallet=not wallet)
        self.world.transact(-1, name, label, signer, self.vault, fn, *args, gas_kind=kind)

    def _token(self, sym: str) -> str:
        return str(self.world.tokens[sym].address)

    # ------------------------------------------------------------------------------------------------ verbs
    def encode(self, leg: Leg) -> list[Call]:
        """One transaction per leg."""
        return [self._call(leg)]

    def _call(self, leg: Leg) -> Call:
        world, vault, action = self.world, self.vault, leg.action
        sym, amount = leg.symbol, leg.amount
        match action:
            case Deposit() if action.owner in self.lenders:
                assert sym is not None
                return Call(leg.label, vault, "supply", (world.address(action.owner), self._token(sym), amount),
                            Payment(sym, amount, vault.address))
            case Deposit():
                assert sym is not None
                return Call(leg.label, vault, "depositCollateral",
                            (world.address(action.owner), action.sub_id, self._token(sym), amount),
                            Payment(sym, amount, vault.address))
            case Withdraw() if action.account in self.lenders:
                assert sym is not None
                return Call(leg.label, vault, "withdrawSupply",
                            (self._token(sym), amount, world.address(action.account)))
            case Withdraw():
                assert sym is not None
                return Call(leg.label, vault, "withdrawCollateral",
                            (action.sub_id, self._token(sym), amount, world.address(action.account)))
            case Borrow():
                assert sym is not None
                return Call(leg.label, vault, "borrow",
                            (action.sub_id, self._token(sym), amount, world.address(action.account)))
            case Repay():
                assert sym is not None
                return Call(leg.label, vault, "repay", (world.address(action.owner), action.sub_id, self._token(sym),
                                                        amount),
                            Payment(sym, amount, vault.address, (action.owner, action.sub_id)))
            case Donate():
                assert sym is not None  # a plain ERC-20 transfer: the vault books nothing for it
                return Call(leg.label, world.tokens[sym], "transfer", (vault.address, amount),
                            Payment(sym, amount, None))
            case Liquidate():
                return Call(leg.label, vault, "liquidate",
                            (world.address(action.target), action.target_sub_id, self._token(action.debt),
                             self._token(action.collateral), action.amount),
                            Payment(action.debt, action.amount, vault.address, (action.target, action.target_sub_id)))
            case Transfer() | SettleBadDebt():
                raise AssertionError(f"{type(action).__name__} is refused by map_plan")
            case _:
                assert_never(action)

    def debt(self, owner: str, sub_id: int, symbol: str) -> int:
        token, debt = self.world.chain.call(self.vault, "debtOf", self.world.address(owner), sub_id)
        return int(debt) if token.lower() == self._token(symbol).lower() else 0

    # ------------------------------------------------------------------------------------------------ reads
    def read_accounts(self, keys: set[str] | None = None) -> Reading:
        """Every tracked position and lender in one ``snapshot`` call; None (with the decoded revert) when a price
        the vault needs is stale or not positive."""
        refs = [r for r in self.sub_accounts if keys is None or r.key in keys]
        positions = [r for r in refs if r.margin != "lender"]
        lenders = [r for r in refs if r.margin == "lender"]
        world = self.world
        try:
            views, supplied, supplied_value = world.chain.call(
                self.vault, "snapshot", [world.address(r.owner) for r in positions], [r.sub_id for r in positions],
                [world.address(r.owner) for r in lenders])
        except TxReverted as exc:
            return Reading(None, exc.reason, "MiniVault.snapshot")
        symbols = list(world.markets)
        out: dict[str, SubAccountState] = {}
        for ref, v in zip(positions, views, strict=True):
            coll_token, coll, debt_token, debt, coll_value, debt_value, borrow_limit, liq_limit, hf = v
            balances = {}
            if coll > 0:
                balances[world.symbol_of[coll_token.lower()]] = int(coll)
            if debt > 0:
                balances[world.symbol_of[debt_token.lower()]] = -int(debt)
            out[ref.key] = SubAccountState({s: balances[s] for s in symbols if s in balances},
                                           int(borrow_limit) - int(debt_value), int(liq_limit) - int(debt_value),
                                           None if hf == UINT256_MAX else int(hf), int(coll_value), int(debt_value))
        for ref, amounts, value in zip(lenders, supplied, supplied_value, strict=True):
            # Supply backs no borrowing: weight 0, so both healths are 0.
            supplied_units = {s: int(a) for s, a in zip(symbols, amounts, strict=True) if a > 0}
            out[ref.key] = SubAccountState(supplied_units, 0, 0, None, int(value), 0)
        return Reading({r.key: out[r.key] for r in refs})

    def read_markets(self) -> dict[str, MarketState]:
        rows = self.world.chain.call(self.vault, "marketStates")
        out = {}
        for sym, (supply, supply_shares, borrows, borrow_shares, rate) in zip(self.world.markets, rows, strict=True):
            supply, borrows, rate = int(supply), int(borrows), int(rate)
            util = borrows * WAD // supply if supply else 0
            out[sym] = MarketState(supply, borrows, 0, supply * WAD // supply_shares if supply_shares else WAD,
                                   borrows * WAD // borrow_shares if borrow_shares else WAD, util, rate,
                                   rate * util // WAD)
        return out

    # ------------------------------------------------------------------------------------------------ keeper
    def offers(self, account: AccountView, prices: dict[str, Decimal]) -> list[Offer]:
        """One offer per liquidatable position: its debt for its collateral, up to all the debt or as much as the
        collateral covers at its bonus. The liquidator's profit and the borrower's cost are both the whole bonus on
        that (no protocol share); the maintenance health it restores is the value repaid less the threshold's share
        of the collateral seized."""
        balances = account.state.balances
        debts = [(s, -b) for s, b in balances.items() if b < 0]
        colls = [(s, b) for s, b in balances.items() if b > 0]
        if len(debts) != 1 or len(colls) != 1:
            return []
        (debt, d_units), (coll, c_units) = debts[0], colls[0]
        markets = self.world.markets
        bonus, threshold = markets[coll].liquidation_bonus, markets[coll].asset_weight.maint
        with localcontext() as ctx:
            ctx.prec = 80
            debt_value = Decimal(d_units).scaleb(-markets[debt].decimals) * prices[debt]
            covered = Decimal(c_units).scaleb(-markets[coll].decimals) * prices[coll] / (1 + bonus)
            value = min(debt_value, covered)
            if value <= 0:
                return []
            incentive = value * bonus
            return [Offer(debt, coll, value, incentive, cost=incentive,
                          health_gain=value - value * (1 + bonus) * threshold)]

    def run_keeper(self, orders: list[KeeperOrder]) -> RoundResult:
        """Each order as its own ``liquidate(owner, id, debt, collateral, all)`` from the keeper's address, in
        order; a revert is reported in ``failed`` with its decoded error."""
        world, result = self.world, RoundResult()
        keeper = world.signer(KEEPER)
        for i, order in enumerate(orders):
            if order.is_settlement:  # not sent by the engine: capabilities.bad_debt is left-as-debt
                result.failed[i] = f"{self.name} has no bad-debt settlement"
                continue
            assert order.debt is not None and order.collateral is not None
            try:
                receipt = world.chain.transact(keeper, self.vault, "liquidate", world.address(order.owner),
                                               order.sub_id, self._token(order.debt), self._token(order.collateral),
                                               UINT256_MAX)
            except TxReverted as exc:
                result.failed[i] = exc.reason
                continue
            world.log_gas("liquidate", receipt)
            result.receipts.append(receipt)
        return result

    def decode_events(self, receipt: dict[str, Any]) -> list[LiquidationEvent | BadDebtEvent]:
        sym = self.world.symbol_of
        events = self.vault.events
        logs = [*events.Liquidated().process_receipt(receipt, errors=DISCARD),
                *events.BadDebtLeft().process_receipt(receipt, errors=DISCARD)]
        out: list[LiquidationEvent | BadDebtEvent] = []
        for ev in sorted(logs, key=lambda e: int(e["logIndex"])):
            a = ev["args"]
            if ev["event"] == "Liquidated":
                out.append(LiquidationEvent(
                    a["liquidator"], a["owner"], int(a["id"]), sym[a["debtToken"].lower()],
                    sym[a["collateralToken"].lower()], int(a["repaid"]), int(a["seized"]), int(a["seized"]), 0,
                    _hf(a["healthFactorBefore"]), _hf(a["healthFactorAfter"])))
            else:  # left as debt: nobody covers it and nothing is written off
                out.append(BadDebtEvent(a["owner"], int(a["id"]), sym[a["debtToken"].lower()], int(a["debt"]), 0, 0))
        return out

    def provenance(self) -> dict[str, str]:
        """Written into every timeline (the same on every chain): no paths, no addresses."""
        compiler = (self._artifacts or self.artifacts()).load("MiniVault")["compiler"]
        return {"protocol": self.name, "contracts": "examples/mini-vault/contracts/MiniVault.sol",
                "license": self.license, "compiler": f"solc {compiler['version']}",
                "evm_version": str(compiler["evm_version"])}


def _hf(value: int) -> int | None:
    return None if int(value) == UINT256_MAX else int(value)
