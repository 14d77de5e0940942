"""marginlab's own vault behind the protocol boundary: the reference every setting of a scenario maps to exactly.

Contracts: ``OracleRouter`` over the shared feeds, ``Vault``, one ``InterestRateModel`` per distinct ``irm:``,
and the simulator's ``SimKeeper`` (the keeper's liquidation contract, which keeps seized collateral in the
vault, in its own sub-account 0).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from typing_extensions import assert_never
from web3.contract import Contract

from marginlab.chain import ReadMode
from marginlab.errors import Issue
from marginlab.numbers import wad
from marginlab.protocols.base import (
    AccountView,
    BadDebtEvent,
    Call,
    Capabilities,
    Decision,
    DeployedContract,
    KeeperOrder,
    Leg,
    LiquidationEvent,
    Mapping,
    Offer,
    Payment,
    Protocol,
    PurchaseEvent,
    Reading,
    Role,
    RoundResult,
)
from marginlab.protocols.marginlab.keepers import VaultLiquidators
from marginlab.protocols.marginlab.liquidation import KeeperBot, vault_events, vault_offers
from marginlab.protocols.marginlab.params import dust_minimums, liquidation_params, liquidation_policy, market_params
from marginlab.protocols.marginlab.reads import KEEPER_SUB_ID, VaultReads
from marginlab.protocols.marginlab.setup import VaultSetup, apply_oracle_guards, guard_changes
from marginlab.protocols.world import DEPLOYER, KEEPER, World
from marginlab.scenario.actions import (
    Borrow,
    Deposit,
    Donate,
    GovernanceAct,
    Liquidate,
    Pause,
    Repay,
    SetParams,
    SettleBadDebt,
    Transfer,
    Withdraw,
)
from marginlab.scenario.model import PAUSE_FLAGS
from marginlab.scenario.plan import Plan
from marginlab.timeline import MarketState, SubAccountRef
from marginlab.vault_deploy import deploy_vault

#: Every hostile token kind the vault accounts for (rebasing is refused by the scenario validator for every protocol).
TOKEN_KINDS = frozenset({"plain", "fee-on-transfer", "hook", "no-return", "returns-false", "revert-on-zero",
                         "pausable-blocklist"})
MODULE_DEPLOYER = "vault modules"  # the system signer that deploys the vault's two modules
MAPPED = ("asset_weight", "liab_weight", "liquidation_bonus", "protocol_share", "reserve_factor", "supply_cap",
          "borrow_cap", "irm", "heartbeat")


class MarginlabVault(VaultLiquidators, Protocol):
    name: ClassVar[str] = "marginlab"
    license: ClassVar[str] = "MIT"
    capabilities: ClassVar[Capabilities] = Capabilities(
        cross_margin=True, isolation="sub-account", liability_weights=True, close_factor=True, dust_rule=True,
        bad_debt="settle-call", token_kinds=TOKEN_KINDS)

    def __init__(self, world: World, plan: Plan, sub_accounts: list[SubAccountRef], reads: ReadMode = "chain") -> None:
        super().__init__(world, plan, sub_accounts, reads)
        self._vault: Contract | None = None
        self.router: Contract | None = None
        self.bot: Contract | None = None
        self._reads: VaultReads | None = None
        self._irms: list[str] = []
        self._modules: dict[str, Contract] = {}
        m = world.markets
        self._decimals = {s: x.decimals for s, x in m.items()}
        self._bonus = {s: x.liquidation_bonus for s, x in m.items()}
        self._share = {s: x.protocol_share for s, x in m.items()}
        self._asset_weight = {s: x.asset_weight.maint for s, x in m.items()}
        self._liab_weight = {s: x.liab_weight.maint for s, x in m.items()}
        self._irm_of: dict[str, str] = {}  # symbol → its rate model's address
        self._paused = {flag: False for flag in PAUSE_FLAGS}
        self._policy = liquidation_policy(plan.liquidation)
        self._lparams = liquidation_params(plan.liquidation)

    @classmethod
    def map_plan(cls, plan: Plan, *, strict: bool = False) -> Mapping:
        """The vault is the reference: every market setting has its exact counterpart in ``MarketParams``."""
        decisions = tuple(Decision(m.symbol, setting, "mapped", "MarketParams / OracleRouter / InterestRateModel")
                          for m in plan.markets for setting in MAPPED)
        decisions += tuple(Decision(m.symbol, "oracle_guards", "mapped", "OracleRouter.setFeedBounds / setPriceBand")
                           for m in plan.markets if m.oracle_guards is not None)
        if plan.sequencer is not None:
            decisions += (Decision("protocol", "sequencer", "mapped", "OracleRouter.setSequencerFeed on every market"),)
        return Mapping(cls.name, decisions)

    # ------------------------------------------------------------------------------------------------ deploy
    @property
    def vault(self) -> Contract:
        assert self._vault is not None, "deploy first"
        return self._vault

    @property
    def reads(self) -> VaultReads:
        assert self._reads is not None, "deploy first"
        return self._reads

    def deploy(self) -> None:
        world, chain, art = self.world, self.world.chain, self.world.artifacts
        deployer = world.deployer
        router = chain.deploy(deployer, art, "OracleRouter", deployer.address)
        for m in self.plan.markets:
            chain.transact(deployer, router, "setFeed", world.tokens[m.symbol].address, world.feeds[m.symbol].address,
                           m.heartbeat)
        apply_oracle_guards(world, self.plan, router)
        # The modules come from a signer of their own, so the vault and every later contract keep the addresses
        # they had when the vault's constructor created its modules.
        vault, modules = deploy_vault(chain, art, deployer, chain.signer("system", MODULE_DEPLOYER), deployer.address,
                                      deployer.address, router.address)
        self._modules = modules
        irms: dict[tuple[int, int, int, int], str] = {}
        for m in self.plan.markets:
            key = (wad(m.irm.base), wad(m.irm.slope1), wad(m.irm.slope2), wad(m.irm.kink))
            if key not in irms:
                irms[key] = chain.deploy(deployer, art, "InterestRateModel", *key).address
                self._irms.append(irms[key])
            chain.transact(deployer, vault, "listMarket", world.tokens[m.symbol].address, market_params(m, irms[key]))
            self._irm_of[m.symbol] = irms[key]
        # The scenario's liquidation: section, after the markets are listed (nothing is sent for the defaults).
        section = self.plan.liquidation
        if section.params_given:
            chain.transact(deployer, vault, "setLiquidationParams", self._lparams.as_tuple())
        if section.dust_given:
            chain.transact(deployer, vault, "setDustMinimums", *dust_minimums(section))
        if section.policy != "close-factor":
            chain.transact(deployer, vault, "setLiquidationPolicy", int(self._policy))
        world.label(vault.address, "vault")
        self._vault, self.router = vault, router
        self._reads = VaultReads(world, vault, self.sub_accounts, self.reads_mode)

    def deploy_keeper(self) -> str:
        world = self.world
        keeper = world.signer(KEEPER)
        bot = world.chain.deploy(keeper, world.artifacts, "SimKeeper", self.vault.address)
        world.name(bot.address, KEEPER)  # the liquidator in Liquidated events
        world.chain.transact(keeper, bot, "approveAll", [t.address for t in world.tokens.values()])
        self.bot = bot
        self.reads.keeper_bot = bot
        return str(bot.address)

    def custody(self) -> str:
        return str(self.vault.address)

    def open_book(self) -> None:
        VaultSetup(self.world, self.plan, self.vault).open()

    # ------------------------------------------------------------------------------------------------ verbs
    def encode(self, leg: Leg) -> list[Call]:
        return [self._encode(leg)]

    def _encode(self, leg: Leg) -> Call:
        world, vault = self.world, self.vault
        token = {s: t.address for s, t in world.tokens.items()}
        action = leg.action
        sym, amount = leg.symbol, leg.amount
        spender = vault.address
        match action:
            case Deposit() | Repay():
                assert sym is not None
                owner = world.address(action.owner)
                word = "deposit" if isinstance(action, Deposit) else "repay"
                return Call(leg.label, vault, word, (owner, action.sub_id, token[sym], amount),
                            Payment(sym, amount, spender, (action.owner, action.sub_id)))
            case Withdraw() | Borrow():
                assert sym is not None
                word = "withdraw" if isinstance(action, Withdraw) else "borrow"
                return Call(leg.label, vault, word, (action.sub_id, token[sym], amount, world.address(action.account)))
            case Donate():
                # Straight to the vault with an ERC-20 transfer: no deposit, no balance credited (I17).
                assert sym is not None
                return Call(leg.label, world.tokens[sym], "transfer", (vault.address, amount),
                            Payment(sym, amount, spender))
            case Transfer():
                assert sym is not None
                return Call(leg.label, vault, "transfer", (action.sub_id, action.to_sub_id, token[sym], amount))
            case SettleBadDebt():
                return Call(leg.label, vault, "settleBadDebt", (world.address(action.target), action.target_sub_id))
            case Liquidate():
                target = world.address(action.target)
                return Call(leg.label, vault, "liquidate",
                            (target, action.target_sub_id, token[action.debt], token[action.collateral],
                             action.amount, action.sub_id),
                            Payment(action.debt, action.amount, spender, (action.target, action.target_sub_id)))
            case _:
                assert_never(action)

    # ------------------------------------------------------------------------------------------------ governance
    @classmethod
    def liquidation_refusal(cls, plan: Plan) -> Issue | None:
        return None  # every policy, parameter and dust minimum of the section is the vault's own

    @classmethod
    def governance_refusal(cls, act: GovernanceAct) -> str | None:
        return None  # the governor sets any market's parameters; the guardian pauses, the governor unpauses

    def govern(self, act: GovernanceAct) -> list[Call]:
        """``setMarketParams`` with the market's whole new parameter set; ``setPaused`` with every flag's new state
        (the vault sets the three at once)."""
        deployer = DEPLOYER  # the replay's deployer holds both roles
        match act:
            case SetParams():
                m = act.market
                self._bonus[act.symbol] = m.liquidation_bonus
                self._share[act.symbol] = m.protocol_share
                self._asset_weight[act.symbol] = m.asset_weight.maint
                self._liab_weight[act.symbol] = m.liab_weight.maint
                token = self.world.tokens[act.symbol].address
                calls = [] if act.changed == ("oracle_guards",) else \
                    [Call("", self.vault, "setMarketParams", (token, market_params(m, self._irm_of[act.symbol])),
                          signer=deployer)]
                if "oracle_guards" in act.changed:
                    assert self.router is not None
                    calls += [Call("", self.router, fn, (token, *args), signer=deployer)
                              for fn, args in guard_changes(m)]
                return calls
            case Pause():
                for flag in act.flags:
                    self._paused[flag] = act.paused
                return [Call("", self.vault, "setPaused", (self._paused["borrow"], self._paused["withdraw"],
                                                          self._paused["liquidate"]), signer=deployer)]
            case _:
                assert_never(act)

    def debt(self, owner: str, sub_id: int, symbol: str) -> int:
        balance = int(self.world.chain.call(self.vault, "balanceOf", self.world.address(owner), sub_id,
                                            self.world.tokens[symbol].address))
        return -min(0, balance)

    # ------------------------------------------------------------------------------------------------ reads
    def read_accounts(self, keys: set[str] | None = None) -> Reading:
        return self.reads.accounts(keys)

    def read_markets(self) -> dict[str, MarketState]:
        return self.reads.markets()

    def touched(self, names: set[str]) -> None:
        self.reads.touch(names)

    def verify(self, where: str, reading: Reading) -> None:
        self.reads.verify(where, reading)

    # ------------------------------------------------------------------------------------------------ keeper
    def offers(self, account: AccountView, prices: dict[str, Decimal]) -> list[Offer]:
        return vault_offers(account, prices, self._decimals, self._bonus, self._share, self._asset_weight,
                            self._liab_weight, self._policy, self._lparams)

    def touch_keys(self, keys: set[str]) -> None:
        self.reads.touch_keys(keys)

    def run_keeper(self, orders: list[KeeperOrder]) -> RoundResult:
        """The round in one ``SimKeeper.run``; after absorptions, the keeper buys what was absorbed."""
        assert self.bot is not None
        bot = KeeperBot(self.world, self.bot, self.vault, KEEPER_SUB_ID)
        result = bot.run(orders)
        if any(o.absorb for o in orders):
            bot.buy_absorbed(list(result.receipts), result)
        self.reads.touch_keys({o.key for o in orders})
        return result

    def decode_events(self, receipt: dict[str, Any]) -> list[LiquidationEvent | BadDebtEvent | PurchaseEvent]:
        return vault_events(self.world, self.vault, receipt)

    def deployment(self) -> tuple[list[DeployedContract], list[Role]]:
        out = [DeployedContract(name, str(c.address), contract) for name, c, contract in
               (("vault", self._vault, "Vault"), ("router", self.router, "OracleRouter"),
                ("keeper", self.bot, "SimKeeper")) if c is not None]
        out += [DeployedContract(f"vault module {name}", str(c.address), name) for name, c in self._modules.items()]
        out += [DeployedContract(f"irm {n}", address, "InterestRateModel") for n, address in enumerate(self._irms, 1)]
        roles = [Role("governor", "deployer", ("vault.listMarket", "vault.setMarketParams", "vault.setPaused",
                                               "vault.setLiquidationPolicy", "vault.setLiquidationParams",
                                               "vault.setDustMinimums",
                                               "vault.withdrawReserves", "router.setFeed")),
                 Role("guardian", "deployer", ("vault.setPaused",)),
                 Role("keeper owner", KEEPER, ("keeper.run (SimKeeper's liquidation rounds)",))]
        return out, roles

    def provenance(self) -> dict[str, str]:
        compiler = (self.world.artifacts.load("Vault").get("compiler") or {})
        return {"protocol": self.name, "contracts": "contracts/ (this repository)", "license": self.license,
                "compiler": f"solc {compiler.get('version', 'unknown')}",
                "evm_version": str(compiler.get("evm_version", "unknown"))}
