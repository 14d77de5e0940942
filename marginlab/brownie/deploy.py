"""Deploy the whole protocol to a brownie-connected chain from a markets file, and remember the addresses.

`scripts/deploy.py` is the brownie entry point. The markets file uses the fields of a scenario's `markets:`
entries (validated by the same model), so a market means the same thing in a deployment and in a replay.
Addresses go to `deployments/<network>.json`; a second run on a chain where that code still exists re-uses it
and only lists markets that are missing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from marginlab.errors import Issue, ScenarioError
from marginlab.numbers import to_units, wad
from marginlab.protocols.marginlab.params import market_params
from marginlab.scenario.model import Market
from marginlab.scenario.source import load_yaml_file
from marginlab.scenario.validate import reason_of


@dataclass
class Deployed:
    network: str
    vault: str = ""
    router: str = ""
    irms: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    feeds: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True) + "\n"


def load_markets(path: Path) -> list[Market]:
    """Markets of a deployment file, validated by the scenario's own model; every problem is one
    ``file:line: field: reason`` line in a ScenarioError."""
    doc = load_yaml_file(path)
    raw = doc.data.get("markets")
    if not isinstance(raw, list) or not raw:
        raise ScenarioError([doc.issue(("markets",), "expected a non-empty list of markets")])
    markets: list[Market] = []
    problems: list[Issue] = []
    for i, item in enumerate(raw):
        try:
            markets.append(Market.model_validate(item))
        except ValidationError as exc:
            problems += [doc.issue(("markets", i, *err["loc"]), reason_of(doc, ("markets", i, *err["loc"]), dict(err)))
                         for err in exc.errors(include_url=False)]
    symbols = [m.symbol for m in markets]
    problems += [doc.issue(("markets",), f"duplicate symbol {s}")
                 for s in sorted({s for s in symbols if symbols.count(s) > 1})]
    if problems:
        raise ScenarioError(problems)
    return markets


def _has_code(web3: Any, address: str) -> bool:
    return bool(address) and len(web3.eth.get_code(address)) > 0


def deploy(project: Any, web3: Any, deployer: Any, markets: list[Market], network: str,
           previous: Deployed | None) -> tuple[Deployed, list[str]]:
    """Deploy what is missing; return the deployment and a log of what was done or re-used."""
    log: list[str] = []
    tx = {"from": deployer}
    d = previous if previous and _has_code(web3, previous.vault) and _has_code(web3, previous.router) else None
    if d is None:
        d = Deployed(network)
        d.router = project.OracleRouter.deploy(deployer, tx).address
        d.vault = project.Vault.deploy(deployer, deployer, d.router, tx).address
        log.append(f"deployed OracleRouter {d.router} and Vault {d.vault}")
    else:
        log.append(f"re-using OracleRouter {d.router} and Vault {d.vault}")
    router = project.OracleRouter.at(d.router)
    vault = project.Vault.at(d.vault)
    listed = {a.lower() for a in vault.markets()}
    for m in markets:
        key = ",".join(str(x) for x in (m.irm.base, m.irm.slope1, m.irm.slope2, m.irm.kink))
        if not _has_code(web3, d.irms.get(key, "")):
            d.irms[key] = project.InterestRateModel.deploy(
                wad(m.irm.base), wad(m.irm.slope1), wad(m.irm.slope2), wad(m.irm.kink), tx).address
        if _has_code(web3, d.tokens.get(m.symbol, "")) and d.tokens[m.symbol].lower() in listed:
            log.append(f"re-using market {m.symbol} ({d.tokens[m.symbol]})")
            continue
        token = getattr(project, m.token.contract).deploy(f"marginlab {m.symbol}", m.symbol, m.decimals,
                                                          *m.token.constructor_extra, tx)
        feed = project.SettableAggregator.deploy(m.feed_decimals, to_units(Decimal(m.price), m.feed_decimals), tx)
        router.setFeed(token, feed, m.heartbeat, tx)
        vault.listMarket(token, market_params(m, d.irms[key]), tx)
        d.tokens[m.symbol], d.feeds[m.symbol] = token.address, feed.address
        log.append(f"listed {m.symbol}: token {token.address}, feed {feed.address}")
    return d, log


def read_deployment(path: Path) -> Deployed | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Deployed(**data)
