"""Start and stop a local dev node (Ganache or Anvil) as a subprocess on a free loopback port.

Block timestamps are pinned (Ganache: ``--miner.timestampIncrement 0``; Anvil: a 0 s block interval) and the
chain starts at a fixed date, so interest depends only on the scenario's ``advance`` steps and a replay is
reproducible to the byte. Anvil orders its mempool first in, first out (``--order fifo``): with automine off
(``--mining per-step``) a block holds the step's transactions in the order they were sent.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from marginlab.errors import ChainError

LOOPBACK = "127.0.0.1"
GENESIS_TIME = 1_704_067_200  # 2024-01-01T00:00:00Z
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
PORT_ATTEMPTS = 3
DEV_CHAIN_IDS = {"ganache": 1337, "anvil": 31337}
# The checkout this package sits in (marginlab/chain/backends.py → three levels up): the last place looked for
# node_modules/.bin, so that `marginlab` run from another directory still finds the nodes `make setup` installed.
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class NodeProcess:
    backend: str
    port: int
    process: subprocess.Popen[bytes]
    command: list[str] = field(default_factory=list)
    stderr_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def stderr_tail(self, limit: int = 600) -> str:
        if self.stderr_path is None or not self.stderr_path.exists():
            return ""
        return self.stderr_path.read_text(errors="replace")[-limit:].strip()

    def stop(self) -> None:
        """Terminate, then kill if it does not exit in time; idempotent."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)
        if self.stderr_path is not None:
            try:
                self.stderr_path.unlink()
            except OSError:
                pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def find_binary(name: str) -> str:
    """``$MARGINLAB_NODE_BIN/<name>``, else ``node_modules/.bin/<name>`` here or above, else ``$PATH``."""
    env = os.environ.get("MARGINLAB_NODE_BIN")
    if env:  # an explicit choice is the only place looked at
        path = Path(env) / name
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        raise ChainError(f"{name} not found in MARGINLAB_NODE_BIN={env}: install it there or unset the variable "
                         f"to use node_modules/.bin (`make setup`)")
    candidates: list[Path] = []
    for base in [Path.cwd(), *Path.cwd().parents, REPO_ROOT]:
        candidates.append(base / "node_modules" / ".bin" / name)
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return str(c)
    found = shutil.which(name)
    if found:
        return found
    raise ChainError(f"{name} not found (looked in node_modules/.bin and $PATH): run `make setup` "
                     f"(npm ci) in the repository, or set MARGINLAB_NODE_BIN")


def node_command(backend: str, port: int) -> list[str]:
    if backend == "ganache":
        return [find_binary("ganache"), "--chain.hardfork", "istanbul", "--wallet.deterministic",
                "--miner.blockGasLimit", "30000000", "--logging.quiet", "--server.host", LOOPBACK,
                "--server.port", str(port), "--chain.chainId", str(DEV_CHAIN_IDS["ganache"]),
                "--miner.timestampIncrement", "0", "--chain.time",
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(GENESIS_TIME)), "--miner.defaultGasPrice", "0"]
    if backend == "anvil":
        return [find_binary("anvil"), "--block-base-fee-per-gas", "0", "--host", LOOPBACK, "--port", str(port),
                "--chain-id", str(DEV_CHAIN_IDS["anvil"]), "--timestamp", str(GENESIS_TIME),
                "--gas-limit", "30000000", "--order", "fifo", "--silent"]
    raise ChainError(f"unknown chain backend {backend!r}: use ganache or anvil")


def _answers(url: str) -> bool:
    try:
        r = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=2)
        return r.ok and "result" in r.json()
    except (requests.RequestException, ValueError):
        return False


def _port_taken(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex((LOOPBACK, port)) == 0


def start_node(backend: str, port: int | None = None, workdir: Path | None = None) -> NodeProcess:
    """Start a node and wait until it answers JSON-RPC; retries on another port if the port was taken."""
    last_error = ""
    for _ in range(PORT_ATTEMPTS if port is None else 1):
        chosen = port if port is not None else free_port()
        if _port_taken(chosen):
            last_error = f"port {chosen} is already in use"
            continue
        cmd = node_command(backend, chosen)
        stderr_path = Path(workdir or Path(os.environ.get("TMPDIR", "/tmp"))) / f".marginlab-{backend}-{chosen}.log"
        stderr_file = open(stderr_path, "wb")
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr_file,
                                    start_new_session=True)
        except OSError as exc:
            stderr_file.close()
            raise ChainError(f"cannot start {backend} ({cmd[0]}): {exc.strerror or exc}") from None
        stderr_file.close()
        node = NodeProcess(backend, chosen, proc, cmd, stderr_path)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if not node.alive():
                break
            if _answers(node.url):
                if backend == "anvil":
                    requests.post(node.url, json={"jsonrpc": "2.0", "id": 1, "method": "anvil_setBlockTimestampInterval",
                                                  "params": [0]}, timeout=5)
                return node
            time.sleep(0.1)
        tail = node.stderr_tail()
        node.stop()
        if "EADDRINUSE" in tail or "Address already in use" in tail or "address in use" in tail.lower():
            last_error = f"port {chosen} is already in use"
            if port is not None:
                break
            continue
        raise ChainError(f"{backend} did not start on {LOOPBACK}:{chosen} within {STARTUP_TIMEOUT_S:.0f} s"
                         + (f": {tail}" if tail else ""))
    raise ChainError(f"could not start {backend}: {last_error}")
