"""I25, no griefing through deposits: nobody but an owner or its operator adds a market (and so its price feed) to
that owner's sub-account, and one sub-account whose price cannot be read never makes a batch view revert for the
others (`accountStates` reports it `unpriced`, `liquidatable` answers false for it)."""
import brownie
import pytest

from unitkit import err, open_position

UINT128_MAX = 2**128 - 1


def test_a_stranger_cannot_add_a_market_to_someone_elses_sub_account(proto, vault, weth, wbtc, alice, rando):
    proto.fund("WBTC", rando, 10**8)
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 1_000})
    with brownie.reverts(revert_pattern=err("NotOwnerOrOperator")):
        vault.deposit(alice, 0, wbtc, 1, {"from": rando})  # the griefing dust deposit
    with brownie.reverts(revert_pattern=err("NotOwnerOrOperator")):
        vault.deposit(alice, 5, wbtc, 1, {"from": rando})  # an empty sub-account too
    assert vault.scaledBalanceOf(alice, 0, wbtc) == 0


def test_a_stranger_may_add_to_a_market_the_sub_account_holds_deposit_or_debt(proto, vault, weth, usdc, alice, rando):
    proto.fund("WETH", rando, 10**18)
    proto.fund("USDC", rando, 10**9)
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 1_000})
    before = vault.scaledBalanceOf(alice, 0, weth)
    vault.deposit(alice, 0, weth, 10**18, {"from": rando})  # held as a deposit
    assert vault.scaledBalanceOf(alice, 0, weth) > before
    debt = vault.balanceOf(alice, 0, usdc)
    tx = vault.deposit(alice, 0, usdc, 10**8, {"from": rando})  # held as a debt: the deposit repays it
    assert tx.events["Deposit"]["debtRepaid"] == 10**8 and vault.balanceOf(alice, 0, usdc) > debt


def test_the_owners_operator_may_add_any_market(proto, vault, wbtc, alice, bob):
    proto.fund("WBTC", bob, 10**8)
    vault.setOperator(bob, True, {"from": alice})
    vault.deposit(alice, 4, wbtc, 10**8, {"from": bob})
    assert vault.balanceOf(alice, 4, wbtc) > 0
    vault.setOperator(bob, False, {"from": alice})
    with brownie.reverts(revert_pattern=err("NotOwnerOrOperator")):
        vault.deposit(alice, 6, wbtc, 10**8, {"from": bob})


@pytest.fixture
def wbtc_unpriced(proto, router, gov, wbtc):
    """WBTC's price ($60,000) will sit below a floor bound: the router refuses it (PriceOutOfBounds). Call it
    after the positions are open."""
    def refuse():
        router.setFeedBounds(wbtc, 70_000 * 10**18, UINT128_MAX, {"from": gov})
    return refuse


def test_account_states_reports_the_unpriceable_account_and_values_the_others(proto, vault, router, wbtc, alice, bob,
                                                                               wbtc_unpriced):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 1_000})
    vault.deposit(bob, 0, wbtc, 10**6, {"from": bob})
    open_position(proto, bob, 0, {"WETH": 1})
    wbtc_unpriced()
    with brownie.reverts(revert_pattern=err("PriceOutOfBounds")):
        router.price(wbtc)
    with brownie.reverts(revert_pattern=err("PriceOutOfBounds")):
        vault.accountState(bob, 0)  # the single view still says why
    states = vault.accountStates([alice, bob, alice], [0, 0, 3])
    assert states[0]["unpriced"] is False and states[0]["debtValue"] > 0
    assert states[0] == vault.accountState(alice, 0)  # valued as alone (the single view's `unpriced` is false)
    assert states[1]["unpriced"] is True
    assert {str(t) for t in states[1]["tokens"]} == {wbtc.address, proto["WETH"].token.address}
    assert (states[1]["collateralValue"], states[1]["healthFactor"]) == (0, 0)
    assert states[2]["unpriced"] is False and len(states[2]["tokens"]) == 0  # an empty sub-account needs no price


def test_liquidatable_never_reverts_for_one_unpriceable_account(proto, vault, wbtc, alice, bob, wbtc_unpriced):
    open_position(proto, alice, 0, {"WETH": 10}, {"USDC": 15_000})
    proto.set_price("WETH", 1700)  # alice is liquidatable
    open_position(proto, bob, 0, {"WETH": 10, "WBTC": "0.01"}, {"USDC": 100})
    wbtc_unpriced()
    try:
        assert list(vault.liquidatable([alice, bob, bob], [0, 0, 1])) == [True, False, False]
    finally:
        proto.set_price("WETH", 2000)


def test_the_simulators_snapshot_packs_the_unpriced_flag(proto, vault, wbtc, alice, bob, wbtc_unpriced):
    batcher = brownie.SimBatcher.deploy({"from": alice})
    open_position(proto, alice, 0, {"WETH": 1})
    vault.deposit(bob, 0, wbtc, 10**6, {"from": bob})
    wbtc_unpriced()
    ok, _err, raw, _markets = batcher.snapshot(vault, [alice, bob], [0, 0], [m.token for m in proto.markets.values()])
    words = [int.from_bytes(bytes(raw)[i:i + 32], "big", signed=True) for i in range(0, len(bytes(raw)), 32)]
    # alice: n=1, (index, balance), 5 health words, unpriced=0; then bob: n=1, (index, balance 0), 5 zero words,
    # unpriced=1
    assert ok and words[0] == 1 and words[8] == 0
    assert words[9] == 1 and words[11:17] == [0] * 6 and words[17] == 1
