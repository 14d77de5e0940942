"""Gas side by side (``make gas-protocols`` → ``bench/gas-protocols.json``): the vault, Aave v3 and Morpho Blue on
the same account shapes, on one chain (Anvil by default), in one run, through marginlab's own chain layer and
each protocol's own adapter (the very calls a replay sends).

Two shapes, as the vault's gas table names them: 1 collateral / 1 debt (WETH against USDC) and 3 collaterals /
2 debts (WETH, WBTC, LINK against USDC and DAI; Morpho Blue cannot hold it: a position pairs one collateral with
one loan asset). Each shape is a small scenario: the book opens, then — an hour of interest before each — a
deposit to an existing balance, a borrow on an existing debt, a partial repay, a withdrawal with debt (health
check), a price fall to a health factor between 0.95 and 1, and a liquidation of USDC debt for WETH collateral
sent by a liquidator's own address (``liquidate: all``: the largest call the protocol allows; Aave receives
aTokens, the vault keeps the collateral in the liquidator's sub-account). Every figure is that transaction's own
receipt. On Anvil each liquidation is also traced (``debug_traceTransaction``, callTracer): where its gas goes.

It never touches ``bench/gas.json`` (the vault's own table, measured through brownie by ``make gas``).
"""
from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from marginlab.chain import Artifacts, Chain, ChainOptions, RevertDecoder
from marginlab.protocols.registry import factory, protocol_class
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import parse_scenario_text
from marginlab.sim.engine import Replay

OUT = Path(__file__).resolve().parents[2] / "bench" / "gas-protocols.json"
PROTOCOLS = ("marginlab", "aave-v3", "morpho-blue")
KINDS = ("deposit", "borrow", "repay", "withdraw", "liquidate")
CALL_OPS = frozenset({"CALL", "STATICCALL", "DELEGATECALL", "CALLCODE"})
#: the performance goals: vault / peer liquidation gas at most this, per shape
GOALS = {"3x2": ("aave-v3", 0.8), "1x1": ("morpho-blue", 1.25)}
_MARKET = ("asset_weight: {init: 0.80, maint: 0.85}, liab_weight: {init: 1.0, maint: 1.0}, "
           "liquidation_bonus: 0.05, protocol_share: 0.1, reserve_factor: 0.1, "
           "irm: {base: 0.01, slope1: 0.08, slope2: 1.0, kink: 0.8}")
_STEPS = """\
steps:
  - {{advance: 3600, action: {{account: acct, deposit: {{WETH: 1}}}}}}
  - {{advance: 3600, action: {{account: acct, borrow: {{USDC: 1000}}}}}}
  - {{advance: 3600, action: {{account: acct, repay: {{USDC: 500}}}}}}
  - {{advance: 3600, action: {{account: acct, withdraw: {{WETH: 0.5}}}}}}
  - {{prices: {crash}}}
  - {{advance: 3600, action: {{account: liq, liquidate: {{account: acct, debt: USDC, collateral: WETH, amount: all}}}}}}
keeper: {{enabled: false}}
"""
SHAPES = {
    "1x1": ("1 collateral / 1 debt", """\
name: gas-1x1
seed: 1
markets:
  - {{symbol: WETH, decimals: 18, price: 2000, {m}}}
  - {{symbol: USDC, decimals: 6, price: 1, {m}}}
liquidity:
  - {{name: lp, deposits: {{USDC: 1000000, WETH: 500}}}}
accounts:
  - {{name: acct, positions: [{{deposit: {{WETH: 10}}, borrow: {{USDC: 12000}}}}]}}
  - {{name: liq, positions: [{{deposit: {{USDC: 1}}}}]}}
""".format(m=_MARKET) + _STEPS.format(crash="{WETH: 1380}")),
    "3x2": ("3 collaterals / 2 debts", """\
name: gas-3x2
seed: 1
markets:
  - {{symbol: WETH, decimals: 18, price: 2000, {m}}}
  - {{symbol: WBTC, decimals: 8, price: 60000, {m}}}
  - {{symbol: LINK, decimals: 18, price: 15, {m}}}
  - {{symbol: USDC, decimals: 6, price: 1, {m}}}
  - {{symbol: DAI, decimals: 18, price: 1, {m}}}
liquidity:
  - {{name: lp, deposits: {{USDC: 1000000, DAI: 1000000, WETH: 500, WBTC: 20, LINK: 100000}}}}
accounts:
  - {{name: acct, positions: [{{deposit: {{WETH: 5, WBTC: 0.2, LINK: 500}}, borrow: {{USDC: 10000, DAI: 8000}}}}]}}
  - {{name: liq, positions: [{{deposit: {{USDC: 1}}}}]}}
""".format(m=_MARKET) + _STEPS.format(crash="{WETH: 1400, WBTC: 42000, LINK: 10.5}")),
}


def measure(protocol: str, shape: str, chain_name: str, options: ChainOptions | None = None,
            profile: bool = False) -> tuple[dict[str, int], list[dict[str, Any]] | None]:
    """One shape on one protocol on a fresh node: the gas of each measured operation, and the liquidation's call
    trace (Anvil only; with ``profile``, its gas by opcode instead, which needs a node started with
    ``--steps-tracing``: :func:`tracing_anvil`)."""
    scenario, doc = parse_scenario_text(SHAPES[shape][1], f"gas-{shape}.yaml")
    cls = protocol_class(protocol)
    plan = build_plan(scenario, doc, "as-written")
    if cls.map_plan(plan).refusals:
        return {}, None
    artifacts = Artifacts()
    chain = Chain.open(options or ChainOptions(backend=chain_name),
                       RevertDecoder(artifacts.all_abis() + cls.extra_abis()))
    try:
        replay = Replay(plan, chain, artifacts, protocol=factory(cls))
        world = replay.world
        receipts: list[tuple[str, dict[str, Any]]] = []
        log_gas = world.log_gas

        def keep(kind: str, receipt: dict[str, Any]) -> None:
            receipts.append((kind, receipt))
            log_gas(kind, receipt)

        world.log_gas = keep  # type: ignore[method-assign]
        replay.deploy()
        replay.setup()
        out: dict[str, int] = {}
        liquidation = None
        for step, kind in zip(plan.steps, ("deposit", "borrow", "repay", "withdraw", None, "liquidate"), strict=True):
            receipts.clear()
            replay.step(step)
            if kind is None:
                continue
            mine = [r for k, r in receipts if k == kind]
            assert len(mine) == 1, f"{protocol} {shape}: {kind} sent {len(mine)} transactions"
            out[kind] = int(mine[0]["gasUsed"])
            if kind == "liquidate":
                liquidation = mine[0]
        assert len(replay.timeline.liquidations) == 1, f"{protocol} {shape}: the liquidation did not happen"
        trace = None
        if chain_name == "anvil" and liquidation is not None:
            for sym, feed in world.feeds.items():
                world.label(feed.address, f"feed {sym}")
            router = getattr(replay.protocol, "router", None)
            if router is not None:
                world.label(router.address, "OracleRouter")
            trace = [_opcodes(chain, liquidation)] if profile else _trace(chain, liquidation)
        return out, trace
    finally:
        chain.close()


def _hash(receipt: dict[str, Any]) -> str:
    tx = receipt["transactionHash"]
    text = tx.hex() if hasattr(tx, "hex") else str(tx)
    return text if text.startswith("0x") else "0x" + text


def _opcodes(chain: Chain, receipt: dict[str, Any]) -> dict[str, Any]:
    """Gas by opcode over every call frame (calls count without the gas they forward)."""
    answer = chain.w3.provider.make_request("debug_traceTransaction",  # type: ignore[arg-type]
                                            [_hash(receipt), {"disableStack": True, "disableMemory": True,
                                                              "disableStorage": True}])
    by_op: dict[str, list[int]] = {}
    for log in answer["result"]["structLogs"]:
        op = str(log["op"])
        group = op if op in ("SSTORE", "SLOAD", "KECCAK256") else "CALLs" if op in CALL_OPS else \
            "LOGs" if op.startswith("LOG") else "other"
        entry = by_op.setdefault(group, [0, 0])
        entry[0] += 1
        entry[1] += 0 if group == "CALLs" else int(log["gasCost"])
    return {"opcodes": {g: {"count": n, "gas": gas} for g, (n, gas) in sorted(by_op.items())}}


@contextmanager
def tracing_anvil() -> Iterator[str]:
    """An Anvil of our own with ``--steps-tracing`` (marginlab's nodes run without it: it slows every
    transaction), for the opcode profile only; yields its URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([str(root / "node_modules" / ".bin" / "anvil"), "--block-base-fee-per-gas", "0",
                             "--host", "127.0.0.1", "--port", str(port), "--chain-id", "31337", "--gas-limit",
                             "30000000", "--order", "fifo", "--silent", "--steps-tracing"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _trace(chain: Chain, receipt: dict[str, Any]) -> list[dict[str, Any]]:
    """The liquidation's calls four levels deep: callee (labelled), function selector, gas used."""
    answer = chain.w3.provider.make_request("debug_traceTransaction",  # type: ignore[arg-type]
                                            [_hash(receipt), {"tracer": "callTracer"}])
    labels = chain.decoder.labels
    rows: list[dict[str, Any]] = []

    def walk(call: dict[str, Any], depth: int) -> None:
        to = str(call.get("to", "")).lower()
        rows.append({"depth": depth, "type": call.get("type"), "to": labels.get(to, to),
                     "selector": str(call.get("input", ""))[:10], "gas_used": int(str(call.get("gasUsed", "0x0")), 16)})
        if depth < 4:
            for sub in call.get("calls", []) or []:
                walk(sub, depth + 1)

    walk(answer["result"], 0)
    return rows


def run(chain_name: str) -> dict[str, Any]:
    gas: dict[str, dict[str, dict[str, int]]] = {p: {} for p in PROTOCOLS}
    traces: dict[str, list[dict[str, Any]]] = {}
    for shape in SHAPES:
        for protocol in PROTOCOLS:
            print(f"gas-protocols: {protocol}, {SHAPES[shape][0]}, {chain_name}", file=sys.stderr, flush=True)
            figures, trace = measure(protocol, shape, chain_name)
            if figures:
                gas[protocol][shape] = figures
            if trace is not None:
                if chain_name == "anvil":
                    with tracing_anvil() as url:
                        trace += measure(protocol, shape, chain_name, ChainOptions(rpc_url=url), profile=True)[1] or []
                traces[f"{protocol} {shape} liquidate"] = trace
    goals = {}
    for shape, (peer, limit) in GOALS.items():
        ours, theirs = gas["marginlab"].get(shape, {}).get("liquidate"), gas[peer].get(shape, {}).get("liquidate")
        if ours and theirs:
            goals[f"liquidate {shape}: marginlab / {peer}"] = {"ratio": round(ours / theirs, 4), "goal": limit,
                                                               "met": ours <= limit * theirs}
    return {"gas": gas, "goals": goals, "traces": traces}


def table(results: dict[str, Any]) -> str:
    lines = []
    for chain_name, res in results.items():
        lines += [f"## {chain_name}", "", "| operation | shape | " + " | ".join(PROTOCOLS) + " |",
                  "|---|---|" + "---:|" * len(PROTOCOLS)]
        for kind in KINDS:
            for shape, (title, _) in SHAPES.items():
                cells = [f"{res['gas'][p][shape][kind]:,}" if shape in res["gas"][p] else "–" for p in PROTOCOLS]
                lines.append(f"| {kind} | {title} | " + " | ".join(cells) + " |")
        lines += ["", "Liquidations by opcode (count / gas; calls without the gas they forward):", "",
                  "| liquidation | SSTORE | SLOAD | CALLs | LOGs | KECCAK256 | other |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name, rows in res["traces"].items():
            ops = next((r["opcodes"] for r in rows if "opcodes" in r), None)
            if ops:
                cells = [f"{ops[g]['count']} / {ops[g]['gas']:,}" if g in ops else "–"
                         for g in ("SSTORE", "SLOAD", "CALLs", "LOGs", "KECCAK256", "other")]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
        for name, goal in res["goals"].items():
            lines.append(f"- {name} = {goal['ratio']} (goal ≤ {goal['goal']}: {'met' if goal['met'] else 'not met'})")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", default="anvil", help="comma-separated: anvil, ganache")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    results = {c: run(c) for c in args.chains.split(",")}
    args.out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
