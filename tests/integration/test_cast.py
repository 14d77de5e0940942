"""Driving the protocol from outside, with cast alone: `make chain`, `make deploy` with RPC_URL, then deposit →
borrow → price move → liquidation, every function signature looked up by name in abi/, every revert decoded by
name from abi/signatures.json. What docs/cast-and-web3.md tells a user to do, done."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from marginlab.chain.backends import free_port
from marginlab.node import probe

ROOT = Path(__file__).resolve().parents[2]
CHAIN = os.environ.get("MARGINLAB_CHAIN") or os.environ.get("CHAIN") or "ganache"
CAST = str(ROOT / "node_modules" / ".bin" / "cast")
ABI = ROOT / "abi"
NODE_START_S = 60
E18, E6, E8 = 10**18, 10**6, 10**8


@pytest.fixture(autouse=True)
def isolation():
    """A node `make chain` starts, not brownie's chain."""
    yield


def make_env() -> dict[str, str]:
    """The environment without the outer make's flags (make test runs this suite)."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """`make chain` on a free port, in its own process group (stopped by its id at the end)."""
    port = free_port()
    log = tmp_path_factory.mktemp("chain") / "chain.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["make", "-s", "-C", str(ROOT), "chain", f"CHAIN={CHAIN}", f"PORT={port}"],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=make_env(),
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + NODE_START_S
    while probe(url) is None:
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGTERM)
            pytest.fail(f"make chain did not answer at {url}: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def book(node, tmp_path_factory):
    path = tmp_path_factory.mktemp("book") / "book.json"
    done = subprocess.run(["make", "-s", "-C", str(ROOT), "deploy", f"RPC_URL={node}", f"ADDRESS_BOOK={path}"],
                          capture_output=True, text=True, env=make_env(), timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(path.read_text())


# ------------------------------------------------------------------------------------------ abi/ look-ups

def abi_type(item: dict) -> str:
    kind = item["type"]
    if kind.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in item["components"]) + ")" + kind[len("tuple"):]
    return kind


def signature(abi_file: str, name: str, *, outputs: bool = False) -> str:
    """``name(types)`` (and ``(outputs)``) of the one function called ``name`` in ``abi_file`` (a path from a book)."""
    found = [i for i in json.loads((ROOT / abi_file).read_text()) if i["type"] == "function" and i["name"] == name]
    assert len(found) == 1, f"{abi_file}: {len(found)} functions named {name}"
    fn = found[0]
    sig = f"{name}({','.join(abi_type(i) for i in fn['inputs'])})"
    return sig + (f"({','.join(abi_type(o) for o in fn['outputs'])})" if outputs else "")


def known(kind: str) -> dict[str, str]:
    """abi/signatures.json: selector (errors) or topic0 (events) → signature."""
    key = "selector" if kind == "errors" else "topic0"
    return {e[key]: e["signature"] for e in json.loads((ABI / "signatures.json").read_text())[kind]}


# ------------------------------------------------------------------------------------------ cast

class Reverted(Exception):
    def __init__(self, data: str, decoded: str) -> None:
        super().__init__(decoded)
        self.data = data
        self.decoded = decoded

    @property
    def name(self) -> str:
        return self.decoded.split("(", 1)[0]


REVERT_DATA = (re.compile(r'"result":"(0x[0-9a-fA-F]*)"'), re.compile(r'data: "(0x[0-9a-fA-F]*)"'))


@dataclass
class Cast:
    url: str
    legacy: bool  # Ganache (berlin) has no EIP-1559 transactions

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # cast reads CHAIN as its --chain (make exports ours: CHAIN=ganache is no chain cast knows)
        env = {k: v for k, v in os.environ.items() if k != "CHAIN"}
        done = subprocess.run([CAST, *args], capture_output=True, text=True, timeout=120, env=env)
        if check and done.returncode != 0:
            raise AssertionError(f"cast {' '.join(args)}: {done.stderr.strip()}")
        return done

    def decode_revert(self, text: str) -> Reverted | None:
        """The revert in cast's error text, decoded by name with a signature from abi/signatures.json."""
        for pattern in REVERT_DATA:
            m = pattern.search(text)
            if m:
                data = m.group(1)
                sig = known("errors").get(data[:10].lower())
                assert sig is not None, f"selector {data[:10]} is not in abi/signatures.json ({text})"
                args = self.run("decode-error", "--sig", sig, data).stdout.split("\n")
                values = [a.split(" [")[0].strip() for a in args if a.strip()]
                return Reverted(data, f"{sig.split('(')[0]}({', '.join(values)})")
        return None

    def call(self, to: str, sig: str, *args: object) -> str:
        done = self.run("call", to, sig, *map(str, args), "--rpc-url", self.url, check=False)
        if done.returncode != 0:
            revert = self.decode_revert(done.stderr)
            if revert is not None:
                raise revert
            raise AssertionError(done.stderr)
        return done.stdout.strip()

    def send(self, key: str, to: str, sig: str, *args: object, value: str | None = None) -> dict:
        cmd = ["send", to, *([sig] if sig else []), *map(str, args), "--private-key", key, "--rpc-url", self.url,
               "--json", *(["--legacy"] if self.legacy else []), *(["--value", value] if value else [])]
        done = self.run(*cmd, check=False)
        if done.returncode != 0:
            revert = self.decode_revert(done.stderr)
            if revert is not None:
                raise revert
            raise AssertionError(done.stderr)
        receipt = json.loads(done.stdout)
        assert int(str(receipt["status"]), 16) == 1, receipt
        return receipt

    def address(self, key: str) -> str:
        return self.run("wallet", "address", "--private-key", key).stdout.strip()


def number(text: str) -> int:
    """cast prints `1000000 [1e6]`."""
    return int(text.split()[0])


# ------------------------------------------------------------------------------------------ the walk

def test_deposit_borrow_price_move_and_liquidation_with_cast_alone(node, book):
    cast = Cast(node, legacy=CHAIN == "ganache")
    vault, router = book["contracts"]["vault"], book["contracts"]["router"]
    weth, usdc = book["tokens"]["WETH"], book["tokens"]["USDC"]
    weth_feed, usdc_feed = book["feeds"]["WETH"], book["feeds"]["USDC"]
    deployer, governor = book["roles"]["deployer"], book["roles"]["governor"]
    keys = {name: "0x" + (n + 1).to_bytes(32, "big").hex() for n, name in enumerate(("alice", "bob", "carol"))}
    who = {name: cast.address(key) for name, key in keys.items()}
    for address in who.values():  # ether for gas, from a role key make deploy funded
        cast.send(deployer["private_key"], address, "", value="1ether")
    V, W, U = vault["address"], weth["address"], usdc["address"]
    fn = lambda entry, name: signature(entry["abi"], name)  # noqa: E731
    reverts: list[str] = []

    def expect_revert(name: str, action) -> Reverted:
        with pytest.raises(Reverted) as caught:
            action()
        assert caught.value.name == name, caught.value.decoded
        reverts.append(caught.value.decoded)
        return caught.value

    # Only the deployer mints the test tokens; the book says so, and the token agrees.
    err = expect_revert("NotMinter", lambda: cast.send(keys["alice"], W, fn(weth, "mint"), who["alice"], 1))
    assert err.decoded == f"NotMinter({who['alice']})"
    # The deployer is not the governor: three keys, three roles.
    expect_revert("NotGovernor", lambda: cast.send(deployer["private_key"], V, fn(vault, "setDustMinimums"), 1, 1))
    cast.send(governor["private_key"], V, fn(vault, "setDustMinimums"), 0, 0)

    # bob lends 100,000 USDC; alice deposits 10 WETH.
    cast.send(deployer["private_key"], U, fn(usdc, "mint"), who["bob"], 100_000 * E6)
    cast.send(deployer["private_key"], W, fn(weth, "mint"), who["alice"], 10 * E18)
    expect_revert("ERC20InsufficientAllowance",  # OpenZeppelin's error, from inside the vault's SafeERC20 pull
                  lambda: cast.send(keys["bob"], V, fn(vault, "deposit"), who["bob"], 0, U, 100_000 * E6))
    for name, token in (("bob", usdc), ("alice", weth)):
        cast.send(keys[name], token["address"], fn(token, "approve"), V, 2**256 - 1)
    cast.send(keys["bob"], V, fn(vault, "deposit"), who["bob"], 0, U, 100_000 * E6)
    cast.send(keys["alice"], V, fn(vault, "deposit"), who["alice"], 0, W, 10 * E18)
    assert number(cast.call(V, signature(vault["abi"], "balanceOf", outputs=True), who["alice"], 0, W)) == 10 * E18

    # Borrowing more than the initial weight allows (10 WETH × 2000 × 0.8 = 16,000 USD) is refused by name.
    err = expect_revert("AccountUnhealthy",
                        lambda: cast.send(keys["alice"], V, fn(vault, "borrow"), 0, U, 20_000 * E6, who["alice"]))
    assert int(err.decoded.split("(")[1].rstrip(")")) < 0  # healthInit below zero
    # The views docs/cast-and-web3.md shows, with its figures: how much alice may borrow before and after.
    max_borrow = signature(vault["abi"], "maxBorrow", outputs=True)
    max_withdraw = signature(vault["abi"], "maxWithdraw", outputs=True)
    assert number(cast.call(V, max_borrow, who["alice"], 0, U)) == 16_000 * E6  # 10 × 2000 × 0.80
    cast.send(keys["alice"], V, fn(vault, "borrow"), 0, U, 10_000 * E6, who["alice"])
    assert number(cast.call(V, max_borrow, who["alice"], 0, U)) == 6_000 * E6
    assert number(cast.call(V, max_withdraw, who["alice"], 0, W)) == 375 * E18 // 100
    assert number(cast.call(U, signature(usdc["abi"], "balanceOf", outputs=True), who["alice"])) == 10_000 * E6

    # carol cannot liquidate a healthy account.
    cast.send(deployer["private_key"], U, fn(usdc, "mint"), who["carol"], 10_000 * E6)
    liquidate = fn(vault, "liquidate")
    expect_revert("AccountHealthy", lambda: cast.send(keys["carol"], V, liquidate, who["alice"], 0, U, W, 5_000 * E6, 0))

    # The price moves: WETH 2000 → 1100 (10 × 1100 × 0.85 = 9,350 < 10,000 of debt). The feed's writer is the deployer.
    answer = 1100 * 10 ** weth_feed["decimals"]
    expect_revert("NotOwner", lambda: cast.send(keys["carol"], weth_feed["address"], fn(weth_feed, "setAnswer"), answer))
    cast.send(deployer["private_key"], weth_feed["address"], fn(weth_feed, "setAnswer"), answer)
    assert number(cast.call(router["address"], signature(router["abi"], "price", outputs=True), W)) == 1100 * E18
    liquidatable = signature(vault["abi"], "liquidatable", outputs=True)
    assert cast.call(V, liquidatable, f"[{who['alice']}]", "[0]") == "[true]"

    # What that liquidation will do, asked by nobody (cast call sends from the zero address: no funds, no approval).
    preview = signature(vault["abi"], "previewLiquidation", outputs=True)
    quote = [v.split(" [")[0] for v in cast.call(V, preview, who["alice"], 0, U, W, 5_000 * E6).strip("()").split(", ")]
    assert quote == ["0", str(5_000 * E6), "4772727272727272727", "4749999999999999999", "22727272727272728",
                     str(5 * 10**16), "935000000000000000", "977500000000000000", "false"]
    expect_revert("AccountHealthy", lambda: cast.call(V, preview, who["bob"], 0, U, W, 5_000 * E6))  # as liquidate would

    # The liquidation: carol repays 5,000 USDC of alice's debt and takes WETH with the bonus.
    expect_revert("ERC20InsufficientAllowance",
                  lambda: cast.send(keys["carol"], V, liquidate, who["alice"], 0, U, W, 5_000 * E6, 0))
    cast.send(keys["carol"], U, fn(usdc, "approve"), V, 2**256 - 1)
    receipt = cast.send(keys["carol"], V, liquidate, who["alice"], 0, U, W, 5_000 * E6, 0)
    events = known("events")
    logs = [log for log in receipt["logs"] if log["address"].lower() == V.lower()
            and events.get(log["topics"][0], "").startswith("Liquidated(")]
    assert len(logs) == 1
    # topic0 named it; its ABI gives the fields the log's data holds (the indexed ones are topics)
    event = next(i for i in json.loads((ROOT / vault["abi"]).read_text())
                 if i["type"] == "event" and events[logs[0]["topics"][0]] == f"{i['name']}("
                 + ",".join(abi_type(x) for x in i["inputs"]) + ")")
    data_types = ",".join(abi_type(x) for x in event["inputs"] if not x["indexed"])
    values = [v.split(" [")[0] for v in
              cast.run("decode-abi", f"f()({data_types})", logs[0]["data"]).stdout.split("\n") if v]
    # Liquidated(liquidator indexed, owner indexed, subId, debtToken, collToken, repaid, seizedTotal, ...,
    # liquidatorSubId): the last field is the sub-account the liquidator was credited in (0 here)
    assert int(logs[0]["topics"][1], 16) == int(who["carol"], 16) and int(logs[0]["topics"][2], 16) == int(who["alice"], 16)
    assert values[1].lower() == U.lower() and values[2].lower() == W.lower() and int(values[3]) == 5_000 * E6
    seized = int(values[4])
    # as previewed: repaid, seized, toLiquidator, protocolCut; then healthFactorBefore/After and incentive
    assert values[3:7] == quote[1:5] and values[7:10] == [quote[6], quote[7], quote[5]]
    assert len(values) == 11 and int(values[10]) == 0
    assert seized == 5_000 * E18 * 105 // (100 * 1100)  # 5,000 USD of WETH at 1,100 plus the 5 % bonus
    assert number(cast.call(V, signature(vault["abi"], "balanceOf", outputs=True), who["alice"], 0, W)) == \
        10 * E18 - seized

    # A stale USDC feed: the router's StalePrice reaches the vault's caller unchanged; abi/signatures.json names it.
    latest = number(cast.call(usdc_feed["address"], signature(usdc_feed["abi"], "latestRound", outputs=True)))
    cast.send(deployer["private_key"], usdc_feed["address"], fn(usdc_feed, "setRoundData"), latest + 1, E8, 1, 1,
              latest + 1)
    err = expect_revert("StalePrice", lambda: cast.send(keys["alice"], V, fn(vault, "borrow"), 0, U, 1, who["alice"]))
    assert err.decoded == f"StalePrice(1, {usdc_feed['heartbeat_s']})"
    assert [r.split("(")[0] for r in reverts] == ["NotMinter", "NotGovernor", "ERC20InsufficientAllowance",
                                                  "AccountUnhealthy", "AccountHealthy", "NotOwner", "AccountHealthy",
                                                  "ERC20InsufficientAllowance", "StalePrice"]


def test_make_chain_on_a_port_a_node_already_answers_on_says_so_in_one_line(node):
    port = node.rsplit(":", 1)[1]
    done = subprocess.run(["make", "-s", "-C", str(ROOT), "chain", f"CHAIN={CHAIN}", f"PORT={port}"],
                          capture_output=True, text=True, env=make_env(), timeout=120)
    assert done.returncode != 0
    ours = [line for line in done.stderr.splitlines() if not line.startswith("make")]
    assert len(ours) == 1 and ours[0].startswith(f"error: port {port} is in use: a node (chain id ")
    assert f"make chain PORT={int(port) + 1}" in ours[0]
