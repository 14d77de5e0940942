"""Talking to a node: a web3 provider that counts calls and sends JSON-RPC batches, and the one place where a
failed request becomes a :class:`~marginlab.errors.ChainError` (timed out) or :class:`~marginlab.errors.ChainDied`
(the node is gone), with the step and block it happened at.

Everything above this module talks to the chain through :class:`Transport`; only the standard web3 provider
interface (``make_request``) and :meth:`CountingProvider.batch` are used, so a chain that is not reached over
HTTP could hand the transport another provider with the same two methods.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Protocol, TypeVar

import requests
from web3 import HTTPProvider, Web3
from web3._utils.request import make_post_request
from web3.exceptions import TimeExhausted

from marginlab.errors import ChainDied, ChainError

REQUEST_TIMEOUT_S = 20.0
T = TypeVar("T")


def short_error(exc: BaseException) -> str:
    """An exception as one line of at most 300 characters: nodes answer with whole stack traces at times."""
    text = str(exc).replace("\n", " ")
    return text if len(text) <= 300 else text[:300] + "…"


class CountingProvider(HTTPProvider):
    """HTTP provider that counts JSON-RPC calls per method and HTTP round trips (the benchmark reports both per
    step); :meth:`batch` sends several calls in one JSON-RPC batch request (one round trip)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counts: dict[str, int] = {}
        self.round_trips = 0

    @property
    def total(self) -> int:
        """JSON-RPC calls, a batch counting once per call in it."""
        return sum(self.counts.values())

    def make_request(self, method: Any, params: Any) -> Any:
        self.counts[str(method)] = self.counts.get(str(method), 0) + 1
        self.round_trips += 1
        return super().make_request(method, params)

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """The responses, in the order of ``calls`` (each ``{"result": ...}`` or ``{"error": ...}``)."""
        payload = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        for method, _ in calls:
            self.counts[method] = self.counts.get(method, 0) + 1
        self.round_trips += 1
        raw = make_post_request(self.endpoint_uri, json.dumps(payload).encode(),  # type: ignore[arg-type]
                                **self.get_request_kwargs())
        answers = json.loads(raw)
        if not isinstance(answers, list):  # a node that refuses batches answers with one error object
            raise ChainError(f"the node refused a JSON-RPC batch request: {answers}")
        by_id = {a.get("id"): a for a in answers}
        return [by_id.get(i, {"error": "no answer"}) for i in range(len(calls))]


def connect(url: str, request_timeout: float) -> Web3:
    """A web3 client for ``url`` that sends exactly the requests asked for, each once."""
    provider = CountingProvider(url, request_kwargs={"timeout": request_timeout})
    # web3's provider retries a failed request five times: a dead node would take minutes to notice and
    # a hung one 5 × the timeout. One attempt, then the failure is classified (died / timed out).
    provider.middlewares = ()  # type: ignore[assignment]
    w3 = Web3(provider)
    # web3's default middleware asks the node for eth_chainId before every call and estimate (validation)
    # and resolves names; every request we send is fully formed, so each call is exactly one RPC.
    w3.middleware_onion.clear()
    no_names(w3)
    return w3


def no_names(w3: Web3) -> None:
    """No ENS: a local chain has no names to resolve, and web3 6 builds a new ENS object (~9 ms) every time a
    contract object is made without one set (``Web3.ens`` does not keep what it builds)."""
    w3.ens = None  # type: ignore[assignment]


def in_process(provider: Any) -> Web3:
    """A web3 client over an in-process provider (:class:`~marginlab.chain.revm.RevmProvider`), set up as
    :func:`connect` sets up one over HTTP: no middleware, every request exactly one call."""
    w3 = Web3(provider)
    w3.middleware_onion.clear()
    no_names(w3)
    return w3


class NodeHandle(Protocol):
    """The running chain a transport talks to, as far as failure messages need it (a node process)."""

    backend: str

    def alive(self) -> bool: ...

    def exit_code(self) -> int | None: ...


@dataclass
class Progress:
    """Where the replay and the chain stand: the step being replayed (set by the engine), the last block seen and
    the transactions mined. Failure messages name the step and block; reports count blocks and transactions."""
    step: int | None = None
    last_block: int = 0
    tx_count: int = 0


class Transport:
    """Requests to one chain, each failure classified: a refused connection or an exited node process is
    :class:`ChainDied`; a request that times out on a live node is a :class:`ChainError` naming the step."""

    def __init__(self, w3: Web3, url: str, node: NodeHandle | None, progress: Progress) -> None:
        self.w3 = w3
        self.url = url
        self.node = node  # None: a node we only connected to
        self.progress = progress

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` (one request through :attr:`w3`) and classify how it failed."""
        try:
            return fn()
        except requests.exceptions.ConnectionError as exc:
            raise self.died(f"connection to {self.url} failed ({short_error(exc)})") from None
        except (requests.exceptions.Timeout, TimeExhausted) as exc:
            if self.node is not None and not self.node.alive():
                raise self.died("the node process exited") from None
            step = self.progress.step
            raise ChainError(f"RPC to {self.url} timed out" + (f" at step {step}" if step is not None else "")
                             + f" ({short_error(exc)})") from None

    def died(self, message: str) -> ChainDied:
        if self.node is not None:
            code = self.node.exit_code()
            if code is not None:
                message = f"the {self.node.backend} node exited with code {code}; {message}"
        return ChainDied(message, step=self.progress.step, block=self.progress.last_block)

    def raw(self, method: str, params: list[Any]) -> Any:
        """One JSON-RPC request outside web3's typed API (the nodes' ``evm_*``, ``debug_*`` extensions); its
        result, or a :class:`ChainError` carrying the node's error."""
        response = self.call(lambda: self.w3.provider.make_request(method, params))  # type: ignore[arg-type]
        if "error" in response:
            raise ChainError(f"{method} failed: {response['error']}")
        return response.get("result")

    def batch_answers(self, calls: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
        """Several requests in one round trip; every answer as the node gave it (``result`` or ``error``)."""
        provider = self.w3.provider
        return self.call(lambda: provider.batch(calls))  # type: ignore[attr-defined]

    def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """:meth:`batch_answers`, results only: any error answer is a :class:`ChainError` naming its method."""
        answers = self.batch_answers(calls)
        for (method, _), answer in zip(calls, answers, strict=True):
            if "error" in answer:
                raise ChainError(f"{method} failed: {answer['error']}")
        return [a.get("result") for a in answers]
