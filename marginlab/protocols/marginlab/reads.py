"""How the engine sees the vault: every tracked sub-account and every market in one call per read.

Two ways (``--reads``):

- ``chain``: one ``SimBatcher.snapshot`` call in which the node runs the vault's ``accountStates`` over all
  sub-accounts (and reads every market's state);
- ``mirror``: one ``SimBatcher.mirror`` call reads every market's accrued indexes, parameters and price and the
  scaled balances of only the sub-accounts that may have changed, and the vault's own integer formulas value them
  in Python (:mod:`marginlab.protocols.marginlab.mirror`). Every read checks that the mirrored balances add up to
  each market's total scales (I1); :meth:`VaultReads.verify` compares the whole valuation with the vault's view.

A sub-account holding a market whose price the router refuses (stale, guarded, sequencer down) is left out of the
reading's ``accounts`` and named in its ``unpriced`` with the price's error, the first in listing order among the
markets it holds; every other sub-account is valued (I25), both ways.
"""
from __future__ import annotations

from typing import Any

from web3.contract import Contract

from marginlab.chain import ReadMode
from marginlab.errors import ChainError
from marginlab.protocols.base import Reading
from marginlab.protocols.marginlab.mirror import PriceUnavailable, Quote, value_account
from marginlab.protocols.world import World
from marginlab.scenario.fields import SECONDS_PER_YEAR
from marginlab.timeline import MarketState, SubAccountRef, SubAccountState

KEEPER_SUB_ID = 0


class VaultReads:
    """Reads of one replay's vault; remembers the last market read while no transaction or block follows."""

    def __init__(self, world: World, vault: Contract, sub_accounts: list[SubAccountRef], mode: ReadMode) -> None:
        self.world = world
        self.chain = world.chain
        self.vault = vault
        self.sub_accounts = sub_accounts
        self.mode = mode
        self.keeper_bot: Contract | None = None
        self._markets_seen: tuple[tuple[int, int], dict[str, MarketState]] | None = None
        # Mirror reads: scaled balances per tracked sub-account (listing order) and those to re-read.
        self._scaled: dict[str, list[int]] = {}
        self._dirty: set[str] = {ref.key for ref in sub_accounts}

    # ------------------------------------------------------------------------------------------------ public
    def accounts(self, keys: set[str] | None = None) -> Reading:
        if self.mode == "mirror":
            return self._mirror_states(keys)
        return self._vault_states(keys)

    def markets(self) -> dict[str, MarketState]:
        seen = self._markets_seen
        if seen is None or seen[0] != self._chain_mark():
            self._snapshot([], [])
            seen = self._markets_seen
        assert seen is not None
        return dict(seen[1])

    def touch(self, names: set[str]) -> None:
        """Mark every sub-account of these owners as possibly changed: the mirror re-reads their balances."""
        self._dirty.update(ref.key for ref in self.sub_accounts if ref.owner in names)

    def touch_keys(self, keys: set[str]) -> None:
        self._dirty.update(keys)

    def verify(self, where: str, reading: Reading) -> None:
        """The mirror's valuation of every tracked sub-account must equal the vault's, read now in one call."""
        if self.mode != "mirror":
            return
        states, mirror_error = reading.accounts, reading.error
        chain = self._vault_states()
        chain_states, chain_error = chain.accounts, chain.error
        if (states is None) != (chain_states is None) or (states is None and mirror_error != chain_error):
            raise ChainError(f"the mirror diverged from the vault at {where}: the vault's valuation "
                             f"{'failed: ' + str(chain_error) if chain_states is None else 'succeeded'}, the "
                             f"mirror's {'failed: ' + str(mirror_error) if states is None else 'succeeded'}")
        for key, st in (states or {}).items():
            if chain_states is not None and chain_states.get(key) != st:
                raise ChainError(f"the mirror diverged from the vault at {where} for {key}: vault "
                                 f"{chain_states.get(key)}, mirror {st}")
        if states is not None and reading.unpriced != chain.unpriced:
            raise ChainError(f"the mirror diverged from the vault at {where}: unpriced sub-accounts, vault "
                             f"{chain.unpriced}, mirror {reading.unpriced}")

    # ------------------------------------------------------------------------------------------------ chain
    def _tracked(self, keys: set[str] | None = None) -> tuple[list[str], list[int], list[SubAccountRef]]:
        owners, subs, refs = [], [], []
        for ref in self.sub_accounts:
            if keys is None or ref.key in keys:
                owners.append(self.world.address(ref.owner))
                subs.append(ref.sub_id)
                refs.append(ref)
        return owners, subs, refs

    def _vault_states(self, keys: set[str] | None = None) -> Reading:
        """The vault's batch view values every sub-account (``None`` when a price feed is faulted)."""
        owners, subs, refs = self._tracked(keys)
        ok, err, raw = self._snapshot(owners, subs)
        if not ok:
            return Reading(None, self.chain.decoder.decode(err), "accountStates")
        out: dict[str, SubAccountState] = {}
        unpriced: dict[str, list[str]] = {}  # key -> the markets it holds, listing order
        symbols = list(self.world.tokens)
        words = [int.from_bytes(raw[i:i + 32], "big", signed=True) for i in range(0, len(raw), 32)]
        k = 0
        for ref in refs:  # the layout SimBatcher._pack writes
            n = words[k]
            bal = {symbols[words[k + 1 + 2 * t]]: words[k + 2 + 2 * t] for t in range(n)}
            k += 1 + 2 * n
            h_init, h_maint, hf, coll, debt, no_price = words[k:k + 6]
            k += 6
            if no_price:
                unpriced[ref.key] = [s for s in symbols if s in bal]
                continue
            ordered = {s: bal[s] for s in self.world.markets if s in bal}
            out[ref.key] = SubAccountState(ordered, h_init, h_maint, None if hf == -1 else hf, coll, debt)
        return Reading(out, unpriced=self._price_errors(unpriced) if unpriced else {})

    def _price_errors(self, held: dict[str, list[str]]) -> dict[str, str]:
        """Why each unpriced sub-account could not be valued: the router's error for the first market it holds
        (listing order) without a price, as the vault's view meets it. One ``SimBatcher.mirror`` call, no owners."""
        tokens = [t.address for t in self.world.tokens.values()]
        _m, _p, _prices, errors, _s = self.chain.call_many(self.world.batcher, "mirror",
                                                           [(self.vault.address, [], [], tokens)])[0]
        by_symbol = dict(zip(self.world.tokens, (bytes(e) for e in errors), strict=True))
        return {key: self.chain.decoder.decode(next((by_symbol[s] for s in syms if by_symbol[s]), b""))
                for key, syms in held.items()}

    def _snapshot(self, owners: list[str], subs: list[int]) -> tuple[bool, bytes, bytes]:
        """One call: the sub-accounts' states and every market's state, which is kept for this step's record
        as long as no transaction or block follows."""
        tokens = [t.address for t in self.world.tokens.values()]
        size = self._read_chunk()
        chunks = [(self.vault.address, owners[i:i + size], subs[i:i + size], tokens)
                  for i in range(0, max(len(owners), 1), size)]
        answers = self.chain.call_many(self.world.batcher, "snapshot", chunks)
        self._markets_seen = (self._chain_mark(), self._market_states(answers[-1][3]))
        for ok, err, _raw, _markets in answers:  # the first sub-account that cannot be valued, as in one call
            if not ok:
                return False, bytes(err), b""
        return True, b"", b"".join(bytes(raw) for _ok, _err, raw, _m in answers)

    def _read_chunk(self) -> int:
        """Sub-accounts per ``eth_call``: a node runs a call with at most its block gas limit (30M), and valuing
        one sub-account costs up to ~10k gas plus ~12k per market on Anvil's cold-access schedule (bench/gas.json
        family); a chunk stays near a third of the limit. All chunks of a read go in one JSON-RPC batch."""
        return max(25, (self.chain.block_gas_limit // 3) // (10_000 + 12_000 * len(self.world.markets)))

    def _market_states(self, markets: list[Any]) -> dict[str, MarketState]:
        states: dict[str, MarketState] = {}
        for sym, ms in zip(self.world.tokens, markets, strict=False):
            (_t, _d, dep_idx, bor_idx, _ds, _bs, total_dep, total_bor, reserves, util, bor_rate, sup_rate,
             _last) = ms
            states[sym] = MarketState(int(total_dep), int(total_bor), int(reserves), int(dep_idx), int(bor_idx),
                                      int(util), int(bor_rate) * SECONDS_PER_YEAR, int(sup_rate) * SECONDS_PER_YEAR)
        return states

    def _chain_mark(self) -> tuple[int, int]:
        return (self.chain.tx_count, self.chain.last_block)

    # ------------------------------------------------------------------------------------------------ mirror
    def _mirror_states(self, keys: set[str] | None = None) -> Reading:
        """One ``SimBatcher.mirror`` call (markets, prices, and the scaled balances of the sub-accounts marked
        changed), then the vault's valuation in Python."""
        assert self.keeper_bot is not None
        dirty = [ref for ref in self.sub_accounts if ref.key in self._dirty]
        tokens = [t.address for t in self.world.tokens.values()]
        # The keeper bot's own sub-account (not tracked, credited by every liquidation) is read every time, so
        # the tracked balances plus it must add up to the markets' total scales.
        owners = [self.world.address(r.owner) for r in dirty] + [self.keeper_bot.address]
        subs = [r.sub_id for r in dirty] + [KEEPER_SUB_ID]
        size = self._read_chunk()
        answers = self.chain.call_many(self.world.batcher, "mirror",
                                       [(self.vault.address, owners[i:i + size], subs[i:i + size], tokens)
                                        for i in range(0, len(owners), size)])
        markets, params, prices, errors, _ = answers[-1]
        scaled = [x for answer in answers for x in answer[4]]
        m = len(tokens)
        for j, ref in enumerate(dirty):
            self._scaled[ref.key] = [int(x) for x in scaled[j * m:(j + 1) * m]]
        self._dirty.clear()
        self._check_totals(markets, [int(x) for x in scaled[len(dirty) * m:]])
        self._markets_seen = (self._chain_mark(), self._market_states(markets))
        quotes = [Quote(int(ms[1]), int(ms[2]), int(ms[3]), int(p[0]), int(p[1]), int(p[2]), int(p[3]), int(price),
                        bytes(error)) for ms, p, price, error in zip(markets, params, prices, errors, strict=False)]
        symbols = list(self.world.tokens)
        out: dict[str, SubAccountState] = {}
        unpriced: dict[str, str] = {}
        for ref in self.sub_accounts:
            if keys is not None and ref.key not in keys:
                continue
            try:
                st = value_account(self._scaled[ref.key], quotes, symbols)
            except PriceUnavailable as exc:  # as the vault's batch view: this one unpriced, the others valued
                unpriced[ref.key] = self.chain.decoder.decode(exc.data)
                continue
            st.balances = {s: st.balances[s] for s in self.world.markets if s in st.balances}
            out[ref.key] = st
        return Reading(out, unpriced=unpriced)

    def _check_totals(self, markets: list[Any], keeper_scaled: list[int]) -> None:
        """Every read: the mirrored scaled balances (and the keeper's) must add up to each market's total deposit
        and borrow scale (invariant I1), so a balance change the mirror missed stops the replay at once."""
        for t, (sym, ms) in enumerate(zip(self.world.tokens, markets, strict=False)):
            column = [bal[t] for bal in self._scaled.values()] + [keeper_scaled[t]]
            deposits, borrows = sum(x for x in column if x > 0), -sum(x for x in column if x < 0)
            if (deposits, borrows) != (int(ms[4]), int(ms[5])):
                raise ChainError(f"the mirror lost track of a balance in {sym}: its sub-accounts add up to deposit "
                                 f"scale {deposits} and borrow scale {borrows}, the vault holds {int(ms[4])} and "
                                 f"{int(ms[5])}")
