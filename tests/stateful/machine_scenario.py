"""A stateful machine's sequence as a complete scenario file that `marginlab replay` accepts.

The machines log every step in the scenario format already (vault_machine.py: `{"action": {...}}`, `{"advance":
s}`, `{"prices": {...}}`), with `expect_revert:` on every action the vault refused. This module adds what a replay
needs around those steps:

- `markets:` with the machine's actual parameters, read from the chain (weights, bonus, protocol share, reserve
  factor, caps, the rate model, feed decimals and heartbeat), the feed price when the example started, and the
  token's kind when it is one of the hostile test tokens (`token: {kind: fee-on-transfer, fee_bps: N}`, read
  from the token contract), so the replay deploys the same token;
- `liquidity:` and `accounts:` that reproduce the balances the example started from. Each user is an isolated
  account with one (empty) position per sub-account, so `position: N` in a step is sub-account N, as in the
  machine. A scenario deposit is the amount sent, so a fee-on-transfer balance is written as the smallest
  amount whose transfer credits exactly that balance;
- `keeper: {enabled: false}`: in the machine only the `liquidate` rule liquidates.

What a replay cannot reproduce is said at the top of the file (the machine's REPLAY_NOTE). An action whose
outcome the model left open (within a second of interest of a limit) carries `may_revert: ERROR` instead of
`expect_revert:`, so the replay accepts either outcome, and a comment.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from marginlab.numbers import plain
from marginlab.scenario.fields import FEE_BPS_DENOMINATOR, TOKEN_CONTRACTS

WAD = 10**18
BOUNDARY_NOTE = "# may_revert: the model allowed either outcome (within a second of interest of the limit)"
#: Token contract name → scenario `token: {kind: ...}`.
KIND_OF_CONTRACT = {contract: kind for kind, contract in TOKEN_CONTRACTS.items()}


def scenario_yaml(machine: Any) -> str:
    """The whole file: header, markets, liquidity, accounts, keeper, steps."""
    from vault_machine import who_name

    lines = [f"# {machine.NAME} machine: the sequence of the failing example, as a scenario.",
             "# Replay it: marginlab replay THIS_FILE --chain anvil (exit 0 = every action had the same outcome)"]
    if machine.REPLAY_NOTE:
        lines += [f"# {line}" for line in machine.REPLAY_NOTE.splitlines()]
    lines += [f"name: {machine.NAME}-machine", "seed: 0", "markets:"]
    for sym in machine.m:
        entry = market_entry(machine, sym)
        unknown = "" if "token" in entry or token_contract(machine, sym) == "SimToken" else \
            f"  # {token_contract(machine, sym)} has no scenario kind: replayed as a plain ERC-20"
        lines.append(f"  - {flow(entry)}{unknown}")
    liquidity, accounts = holders(machine, who_name)
    lines += ["liquidity:"] + [f"  - {flow(lp)}" for lp in liquidity] if liquidity else ["liquidity: []"]
    lines += ["accounts:"] + [f"  - {flow(a)}" for a in accounts] if accounts else ["accounts: []"]
    lines += ["keeper: {enabled: false}", "steps:" if machine.log else "steps: []"]
    for i, record in enumerate(machine.log):
        lines.append(f"  - {flow(record)}" + (f"  {BOUNDARY_NOTE}" if i in machine.boundary else ""))
    return "\n".join(lines) + "\n"


def market_entry(machine: Any, sym: str) -> dict[str, Any]:
    """One `markets:` entry with the parameters the vault and the router hold for `sym`."""
    mm = machine.m[sym]
    proto = machine.proto
    raw = [int(x) if not isinstance(x, str) else x for x in proto.vault.marketParams(mm.token)]
    heartbeat = int(proto.router.feedOf(mm.token)[1])
    rates = mm.books.rates
    price = machine.start[sym][0]
    entry: dict[str, Any] = {
        "symbol": sym, "decimals": mm.decimals, "price": wad_text(price),
        "asset_weight": {"init": wad_text(raw[0]), "maint": wad_text(raw[1])},
        "liab_weight": {"init": wad_text(raw[2]), "maint": wad_text(raw[3])},
        "liquidation_bonus": wad_text(raw[4]), "protocol_share": wad_text(raw[5]), "reserve_factor": wad_text(raw[6]),
    }
    for name, units in (("supply_cap", raw[7]), ("borrow_cap", raw[8])):
        if units:
            entry[name] = units_text(units, mm.decimals)
    entry["irm"] = {"base": wad_text(rates.base), "slope1": wad_text(rates.slope1), "slope2": wad_text(rates.slope2),
                    "kink": wad_text(rates.kink)}
    entry["feed_decimals"] = proto[sym].feed_decimals
    entry["heartbeat"] = heartbeat
    kind = KIND_OF_CONTRACT.get(token_contract(machine, sym))
    if kind is not None and kind != "plain":
        fee = fee_bps(machine, sym)
        entry["token"] = {"kind": kind, **({"fee_bps": fee} if fee is not None else {})}
    return entry


def token_contract(machine: Any, sym: str) -> str:
    """The name of the contract behind `sym`'s token (brownie knows it)."""
    return str(getattr(machine.m[sym].token, "_name", "SimToken"))


def fee_bps(machine: Any, sym: str) -> int | None:
    return int(machine.m[sym].token.feeBps()) if token_contract(machine, sym) == "FeeOnTransferToken" else None


def gross_for(credited: int, fee: int) -> int:
    """The smallest amount whose fee-on-transfer (`fee` bps, rounded down as FeeOnTransferToken does) delivers
    exactly `credited`: received(a) = a - a·fee/10⁴ rises by 0 or 1 per unit, so every amount is reachable."""
    def received(a: int) -> int:
        return a - a * fee // FEE_BPS_DENOMINATOR

    a = credited * FEE_BPS_DENOMINATOR // (FEE_BPS_DENOMINATOR - fee)
    while received(a) < credited:
        a += 1
    while a > 0 and received(a - 1) >= credited:
        a -= 1
    assert received(a) == credited
    return a


def holders(machine: Any, who_name: Any) -> tuple[list[dict], list[dict]]:
    """`liquidity:` (extra accounts holding only deposits in sub-account 0) and `accounts:` (the users, one
    isolated position per sub-account, and every other actor the log names)."""
    liquidity: list[dict] = []
    accounts: list[dict] = []
    named: set[str] = set()
    n_positions = max(machine.subs) + 1
    for user in machine.users:
        name = who_name(user)
        positions = [start_position(machine, str(user), sub) for sub in range(n_positions)]
        accounts.append({"name": name, "margin": "isolated", "positions": positions})
        named.add(name)
    for who, sub in machine.extra_accounts:
        name = who_name(who)
        if name in named:
            continue
        named.add(name)
        positions = [start_position(machine, str(who), s) for s in range(sub + 1)]
        if sub == 0 and not positions[0].get("borrow"):
            liquidity.append({"name": name, "deposits": positions[0].get("deposit", {})})
        else:
            accounts.append({"name": name, "margin": "isolated", "positions": positions})
    for name in actors(machine.log):
        if name not in named:
            named.add(name)
            accounts.append({"name": name, "positions": [{}]})
    return liquidity, accounts


def start_position(machine: Any, who: str, sub: int) -> dict[str, dict[str, str]]:
    """What (who, sub) held when the example started, as a position: deposits and borrows in whole tokens."""
    deposit, borrow = {}, {}
    for sym, (_price, amounts) in machine.start.items():
        amount = amounts.get((who, sub), 0)
        if amount > 0:
            fee = fee_bps(machine, sym)
            sent = gross_for(amount, fee) if fee else amount
            deposit[sym] = units_text(sent, machine.m[sym].decimals)
        elif amount < 0:
            borrow[sym] = units_text(-amount, machine.m[sym].decimals)
    out: dict[str, dict[str, str]] = {}
    if deposit:
        out["deposit"] = deposit
    if borrow:
        out["borrow"] = borrow
    return out


def actors(log: list[dict]) -> list[str]:
    """Every account name the steps use, in order of first appearance."""
    seen: dict[str, None] = {}
    for record in log:
        act = record.get("action") or {}
        for key in ("account", "owner"):
            if key in act:
                seen[act[key]] = None
        for nested in ("liquidate", "settle_bad_debt", "absorb"):
            if isinstance(act.get(nested), dict):
                seen[act[nested]["account"]] = None
    return list(seen)


def wad_text(value: int) -> str:
    return plain(Decimal(int(value)) / WAD)


def units_text(units: int, decimals: int) -> str:
    return plain(Decimal(int(units)) / Decimal(10**decimals))


def flow(value: Any) -> str:
    """YAML flow style, one line. Numbers stay text the loader reads exactly (never through float)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"' if not value or any(c in value for c in ":{}[],#&*!|>'\"%@`") else value
    return str(value)
