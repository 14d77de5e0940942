"""Gas: the node's estimate, padded, and the largest estimate learnt per contract function.

The gas price is 0 (both dev chains allow it with a zero base fee), so actors need no ether and a generous
limit costs only block room. Estimating is what costs: Ganache runs a liquidation ~10 times to estimate it
(0.4 s each, measured), which dominated replay time, so calls reuse the largest estimate seen for their
function (:class:`GasLimits`); the senders handle a learnt limit that falls short.
"""
from __future__ import annotations

from typing import Any

from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError

from marginlab.chain.backends import Backend
from marginlab.chain.reverts import InvalidOpcode, RevertDecoder, TxReverted, revert_data
from marginlab.chain.rpc import Transport, short_error

GAS_PRICE = 0
GAS_HEADROOM_NUM, GAS_HEADROOM_DEN = 12, 10  # estimate + 20 %
# ... but at least this much more: an estimate is taken at the latest block's timestamp, and on a node whose
# clock ticks (one we only connected to) the transaction can mine a second later and accrue interest first,
# writing storage the estimate never touched.
GAS_MIN_HEADROOM = 80_000
GAS_CAP = 29_000_000
#: A learnt limit's key: (contract address, function name).
GasKey = tuple[str, str]


def padded_gas(estimate: int) -> int:
    return min(max(estimate * GAS_HEADROOM_NUM // GAS_HEADROOM_DEN, estimate + GAS_MIN_HEADROOM), GAS_CAP)


class GasLimits:
    """Estimates, and the largest one seen per contract function (a *learnt* limit)."""

    def __init__(self, rpc: Transport, backend: Backend, decoder: RevertDecoder) -> None:
        self.rpc = rpc
        self.backend = backend
        self.decoder = decoder
        self._learnt: dict[GasKey, int] = {}

    def learnt(self, key: GasKey | None) -> int | None:
        return self._learnt.get(key) if key is not None else None

    def learn(self, key: GasKey | None, estimate: int) -> None:
        if key is not None:
            self._learnt[key] = max(estimate, self._learnt.get(key, 0))

    def forget(self, key: GasKey) -> None:
        """A learnt limit ran out of gas: the next call estimates again."""
        self._learnt.pop(key, None)

    def estimate(self, sender: str, to: str | None, data: str, label: str) -> int:
        """The node's estimate on the latest state; raises :class:`TxReverted` (``gas_estimation=True``) if the
        call would revert, :class:`InvalidOpcode` if the node's EVM is older than the code."""
        tx: dict[str, Any] = {"from": sender, "data": data, "value": 0, "gasPrice": GAS_PRICE}
        if to is not None:
            tx["to"] = to
        try:
            return int(self.rpc.call(lambda: self.rpc.w3.eth.estimate_gas(tx)))  # type: ignore[arg-type]
        except (ContractLogicError, ContractCustomError, ContractPanicError, ValueError) as exc:
            text = short_error(exc)
            # Checked before the revert data: Ganache answers an unknown opcode with data "0x" as well, which
            # would read as a plain revert without a reason.
            if self.backend.is_invalid_opcode(text):
                raise InvalidOpcode(f"{label}: invalid opcode: the node runs an older EVM than the contracts "
                                    f"were compiled for ({text})") from None
            data_bytes = revert_data(exc)
            if data_bytes is None:
                raise TxReverted(f"gas estimation failed: {text}", gas_estimation=True) from None
            raise TxReverted(self.decoder.decode(data_bytes), gas_estimation=True) from None
