"""The books ``make bench`` replays, and a session: one fresh chain with a deployed, set-up replay."""
from __future__ import annotations

import re
import time

from marginlab.bench import config
from marginlab.bench.config import ROOT, RPC_TIMEOUT_S
from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder
from marginlab.protocols.registry import factory, load_protocol
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import parse_scenario_text
from marginlab.sim.engine import Replay, ReplayOptions


def generated_book(n: int, steps: int, actors_per_step: int = 0) -> str:
    """N borrowers at a quarter of their borrowing power; prices wiggle +-1 %: nobody is ever liquidatable.
    With ``actors_per_step``, that many accounts (in turn) also borrow 1 USDC in each step."""
    lines = []
    for i in range(steps):
        move = f'prices: {{WETH: "{"+" if i % 2 else "-"}1%"}}'
        if actors_per_step:
            acts = ", ".join(f"{{account: bot-{(i * actors_per_step + k) % n:0{len(str(n - 1))}d}, "
                             f"borrow: {{USDC: 1}}}}" for k in range(actors_per_step))
            lines.append(f"  - {{{move}, actions: [{acts}]}}")
        else:
            lines.append(f"  - {{{move}}}")
    moves = "\n".join(lines)
    # A scenario group holds at most 1,000 accounts: bot (the first 1,000), then bot2, bot3, ...
    groups = "\n".join(f"  - name: bot{'' if g == 0 else g + 1}\n    count: {min(1000, n - 1000 * g)}\n"
                       f"    positions:\n      - {{deposit: {{WETH: 5}}, borrow: {{USDC: 2000}}}}"
                       for g in range((n + 999) // 1000))
    return f"""name: bench-{n}
seed: 1
markets:
  - {{symbol: WETH, decimals: 18, price: 2000, asset_weight: {{init: 0.80, maint: 0.85}},
     liab_weight: {{init: 1.0, maint: 1.0}}, liquidation_bonus: 0.05}}
  - {{symbol: USDC, decimals: 6, price: 1, asset_weight: {{init: 0.90, maint: 0.95}},
     liab_weight: {{init: 1.0, maint: 1.0}}, liquidation_bonus: 0.02}}
liquidity:
  - {{name: lp, deposits: {{USDC: {n * 10000}}}}}
accounts:
{groups}
steps:
{moves}
keeper: {{enabled: true}}
"""


def cascade_text(n: int) -> str:
    text = (ROOT / "scenarios" / "cascade-50.yaml").read_text()
    if n == 50:
        return text
    text = re.sub(r"count: 50\b", f"count: {n}", text)
    text = re.sub(r"USDC: 1000000\}", f"USDC: {n * 20000}}}", text)
    text = re.sub(r"name: cascade-50", f"name: cascade-{n}", text)
    return "\n".join(line for line in text.splitlines() if "account: bot-" not in line) + "\n"


def friction_texts(n: int) -> tuple[str, str]:
    """cascade-50-thin-twap scaled to ``n`` accounts (lenders, pool depth and inventories × n / 50), and the same
    without its pools, oracle models and keepers: (with friction, frictionless)."""
    import yaml

    data = yaml.safe_load(config.FRICTION_SCENARIO.read_text())
    k = n / 50
    data["name"] = f"friction-{n}"
    data["accounts"][0]["count"] = n
    data["liquidity"][0]["deposits"] = {s: int(v * k) for s, v in data["liquidity"][0]["deposits"].items()}
    for pool in data["pools"]:
        pool["depth_usd"] = int(pool["depth_usd"] * k)
    for keeper in data["keepers"]:
        keeper["inventory"] = {s: int(v * k) for s, v in keeper["inventory"].items()}
    data["expect"] = []
    plain = {key: v for key, v in data.items() if key not in ("pools", "oracles", "keepers", "keeper_gas")}
    plain["name"] = f"frictionless-{n}"
    return yaml.safe_dump(data, sort_keys=False), yaml.safe_dump(plain, sort_keys=False)


class Session:
    """One fresh chain with a deployed and set-up replay, ready to step."""

    def __init__(self, chain_name: str, text: str, mining: str = "auto", reads: str = "mirror") -> None:
        scenario, doc = parse_scenario_text(text)
        self.plan = build_plan(scenario, doc)
        self.artifacts = Artifacts()
        options = ChainOptions(backend=chain_name, request_timeout=RPC_TIMEOUT_S, mining=mining)  # type: ignore
        protocol = load_protocol(config.PROTOCOL)
        self.chain = Chain.open(options, RevertDecoder(self.artifacts.all_abis() + protocol.extra_abis()))
        try:
            self.replay = Replay(self.plan, self.chain, self.artifacts, protocol=factory(protocol),
                                 options=ReplayOptions(reads=reads))  # type: ignore[arg-type]
            t0 = time.perf_counter()
            self.replay.deploy()
            self.replay.setup()
            self.setup_s = time.perf_counter() - t0
            self.setup_rpcs = self.rpcs()
        except BaseException:
            self.chain.close()
            raise

    def rpcs(self) -> int:
        return int(self.chain.w3.provider.total)  # type: ignore[attr-defined]

    def round_trips(self) -> int:
        return int(self.chain.w3.provider.round_trips)  # type: ignore[attr-defined]

    def block(self) -> int:
        return int(self.chain.rpc(lambda: self.chain.w3.eth.block_number))

    def close(self) -> None:
        self.chain.close()

    def run_steps(self) -> dict[str, float]:
        b0 = self.block()
        r0, h0, t0 = self.rpcs(), self.round_trips(), time.perf_counter()
        for step in self.plan.steps:
            self.replay.step(step)
        dt = time.perf_counter() - t0
        r1, h1 = self.rpcs(), self.round_trips()
        return {"seconds": dt, "steps": len(self.plan.steps), "rpcs": r1 - r0, "http": h1 - h0,
                "blocks": self.block() - b0, "liquidations": len(self.replay.timeline.liquidations)}

    def run_naive(self, steps: int) -> dict[str, float]:
        """The loop the engine replaced: one price transaction, then one view call per sub-account."""
        replay = self.replay
        vault = replay.protocol.vault  # type: ignore[attr-defined]
        owners = [replay.world.address(ref.owner) for ref in replay.sub_accounts]
        subs = [ref.sub_id for ref in replay.sub_accounts]
        r0, h0, t0 = self.rpcs(), self.round_trips(), time.perf_counter()
        for step in self.plan.steps[:steps]:
            for sym, price in step.prices.items():
                replay.oracle.prices[sym] = price
                replay.oracle.push(sym)
            replay.oracle.flush()
            for owner, sub in zip(owners, subs, strict=False):
                self.chain.call(vault, "accountState", owner, sub)
        return {"seconds": time.perf_counter() - t0, "steps": steps, "rpcs": self.rpcs() - r0,
                "http": self.round_trips() - h0}


