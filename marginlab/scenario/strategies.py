"""The ``strategies:`` section (issue 21, item 2): behaviours an account follows, acting through the same
transactions as any scenario action. Off unless a scenario writes the section.

One entry is one behaviour of one account, with exactly one of

- ``stop_loss`` / ``take_profit``: close a position (repay its borrows, then withdraw what is left of its
  deposits) when the position's own legs have lost (gained) more than ``share`` of the margin it was opened with
  (its deposits' USD value at opening), or when a price crosses a level (``price: {symbol, above | below}``);
- ``top_up``: deposit ``deposit`` from the wallet into the position's sub-account while its health factor is
  below ``below``, at most ``budget`` in all;
- ``deleverage``: repay ``repay`` of the position's debt while its health factor is below ``below``;

and ``delay`` (steps between first seeing the trigger and acting) and ``miss`` (the seeded chance of missing a
step it would act in). ``route`` says where the tokens for a repayment come from: ``wallet`` (the account's own
tokens; never minted) or ``pool`` (the position's collateral, withdrawn and sold for its debt through the
scenario's Uniswap v2 pool pairing the two, in rounds: :mod:`marginlab.sim.pool_route`); ``route: pool`` needs
a pool in ``pools:`` pairing the position's collateral with its debt.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Callable, Literal

from pydantic import Field, field_validator, model_validator

from marginlab.errors import quote
from marginlab.scenario.fields import AmountMap, Fraction, Int, Name, NonNegInt, Positive, Strict, Symbol, _err
from marginlab.scenario.source import Loc

#: The behaviours, in the order ``--compare-strategies`` names them; ``withdraw`` is a liquidity provider's.
KINDS = ("stop_loss", "take_profit", "top_up", "deleverage", "withdraw")
#: The kinds that belong to accounts with positions; ``withdraw`` belongs to liquidity providers.
ACCOUNT_KINDS = ("stop_loss", "take_profit", "top_up", "deleverage")
#: Where a repayment's tokens come from: the wallet, or the position's collateral sold through a pool (which
#: ``check_strategies`` makes sure exists).
ROUTES = ("wallet", "pool")


class PriceLevel(Strict):
    """A price crossing a level: ``symbol`` at or above ``above``, or at or below ``below``."""

    symbol: Symbol
    above: Positive | None = None
    below: Positive | None = None

    @model_validator(mode="after")
    def _one_side(self) -> PriceLevel:
        if (self.above is None) == (self.below is None):
            raise _err("price", "give exactly one of above or below")
        return self


class Exit(Strict):
    """A stop-loss or take-profit on one position: ``share`` of its opening margin, or a price ``level``."""

    position: NonNegInt = 0
    share: Positive | None = None
    price: PriceLevel | None = None
    route: Literal["wallet", "pool"] = "wallet"

    @model_validator(mode="after")
    def _one_trigger(self) -> Exit:
        if (self.share is None) == (self.price is None):
            raise _err("trigger", "give exactly one of share (of the margin the position opened with) or price")
        return self


class TopUp(Strict):
    position: NonNegInt = 0
    below: Positive
    deposit: AmountMap
    budget: AmountMap

    @model_validator(mode="after")
    def _budgeted(self) -> TopUp:
        if not self.deposit:
            raise _err("top_up", "deposit names at least one asset and amount")
        missing = sorted(set(self.deposit) - set(self.budget))
        if missing:
            raise _err("top_up", f"budget has no amount for {', '.join(missing)}: every deposited asset needs one")
        return self


class Deleverage(Strict):
    position: NonNegInt = 0
    below: Positive
    repay: AmountMap
    route: Literal["wallet", "pool"] = "wallet"

    @model_validator(mode="after")
    def _repays(self) -> Deleverage:
        if not self.repay:
            raise _err("deleverage", "repay names at least one asset and amount")
        return self


class LenderWithdraw(Strict):
    """A liquidity provider taking its deposits out: once utilisation of a market it lends in has stayed above
    ``utilisation_above`` for ``for_steps`` steps, or once bad debt has been socialised (``after_bad_debt``: a
    run). It asks for ``share`` of its deposit in every asset it lends; what the pool cannot pay is refused on
    chain, it takes what is there and asks again each later step until it has it all."""

    utilisation_above: Fraction | None = None
    for_steps: Annotated[Int, Field(ge=1)] = 1
    after_bad_debt: bool = False
    share: Positive = Decimal(1)

    @model_validator(mode="after")
    def _one_trigger(self) -> LenderWithdraw:
        if (self.utilisation_above is None) == (not self.after_bad_debt):
            raise _err("trigger", "give exactly one of utilisation_above (with for_steps) or after_bad_debt: true")
        if self.share > 1:
            raise _err("share", f"share is a part of the deposit, at most 1, got {self.share}")
        if self.for_steps != 1 and self.utilisation_above is None:
            raise _err("for_steps", "for_steps goes with utilisation_above")
        return self


class Strategy(Strict):
    account: Name
    stop_loss: Exit | None = None
    take_profit: Exit | None = None
    top_up: TopUp | None = None
    deleverage: Deleverage | None = None
    withdraw: LenderWithdraw | None = None
    #: steps between first seeing the trigger and acting
    delay: NonNegInt = 0
    #: the chance, drawn from the scenario's seed, that the trader misses a step in which they would act
    miss: Fraction = Decimal("0")

    @model_validator(mode="after")
    def _one_kind(self) -> Strategy:
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise _err("strategy", f"a strategy needs exactly one of {', '.join(KINDS)} (got "
                                   f"{', '.join(given) or 'none'})")
        return self

    @field_validator("miss")
    @classmethod
    def _below_one(cls, value: Decimal) -> Decimal:
        if value >= 1:
            raise _err("miss", "miss is a chance below 1 (1 would never act)")
        return value

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)

    @property
    def position(self) -> int:
        spec = getattr(self, self.kind)
        return int(getattr(spec, "position", 0))


AddFn = Callable[[Loc, str], None]
AmountsFn = Callable[[Loc, Any], None]


def check_strategies(data: dict[str, Any], accounts: dict[str, int | None], lenders: set[str],
                     symbols: set[str], add: AddFn, amounts: AmountsFn) -> None:
    """Cross-checks of ``strategies:`` (each entry already has its structure checked by pydantic): the account is
    one of the scenario's, the position exists, the assets are listed and their amounts fit the decimals."""
    section = data.get("strategies")
    if not isinstance(section, list):
        return
    for i, entry in enumerate(section):
        if not isinstance(entry, dict):
            continue
        name = entry.get("account")
        if isinstance(name, str):
            lender_kind = isinstance(entry.get("withdraw"), dict)
            if name in lenders and not lender_kind:
                add(("strategies", i, "account"), f"{quote(name)} is a liquidity provider: its strategy is withdraw "
                                                  f"(stop_loss, take_profit, top_up, deleverage need positions)")
                continue
            if lender_kind and name not in lenders:
                add(("strategies", i, "withdraw"), f"withdraw is a liquidity provider's strategy; {quote(name)} is "
                                                   f"not one of liquidity:")
                continue
            if name not in accounts:
                add(("strategies", i, "account"), f"unknown account {quote(name)}")
                continue
        for kind in KINDS:
            spec = entry.get(kind)
            if not isinstance(spec, dict):
                continue
            where: Loc = ("strategies", i, kind)
            n_pos = accounts.get(name) if isinstance(name, str) else None
            pos = spec.get("position", 0)
            if isinstance(pos, int) and n_pos is not None and pos >= n_pos:
                add((*where, "position"), f"{quote(name)} has {n_pos} position(s); position {pos} does not exist")
            price = spec.get("price")
            if isinstance(price, dict) and isinstance(price.get("symbol"), str) and price["symbol"] not in symbols:
                add((*where, "price", "symbol"), f"unknown asset {quote(price['symbol'])}")
            for key in ("deposit", "budget", "repay"):
                amounts((*where, key), spec.get(key))
            if spec.get("route") == "pool" and isinstance(name, str) and isinstance(pos, int):
                missing = _missing_pool(data, name, pos)
                if missing:
                    add((*where, "route"), missing)


def _missing_pool(data: dict[str, Any], account: str, position: int) -> str | None:
    """Why ``route: pool`` cannot close ``account``'s position ``position``, or None: the scenario needs a pool
    pairing one of its deposited assets with each borrowed one (either orientation)."""
    pos = None
    for acct in data.get("accounts") or []:
        if isinstance(acct, dict) and acct.get("name") == account:
            positions = acct.get("positions") or []
            if isinstance(positions, list) and position < len(positions):
                pos = positions[position]
    if not isinstance(pos, dict):
        return None  # reported elsewhere
    deposits = sorted(pos.get("deposit") or {}) if isinstance(pos.get("deposit"), dict) else []
    borrows = sorted(pos.get("borrow") or {}) if isinstance(pos.get("borrow"), dict) else []
    pairs = {frozenset(str(p.get("pair", "")).split("/")) for p in data.get("pools") or [] if isinstance(p, dict)}
    for debt in borrows:
        if not any(frozenset((coll, debt)) in pairs for coll in deposits):
            want = " or ".join(f"{c}/{debt}" for c in deposits) or f"?/{debt}"
            have = ", ".join(sorted(str(p.get("pair")) for p in data.get("pools") or [] if isinstance(p, dict)))
            return (f"route: pool sells the position's collateral for its {debt} debt, and pools: has no pool "
                    f"{want} (it has {have or 'none'}): add one, or use route: wallet")
    return None
