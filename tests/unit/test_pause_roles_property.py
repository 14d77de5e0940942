"""I23 as a property: random sequences of setPaused calls by the governor, the guardian and a stranger, each
checked against a four-line model of who may change which flags, and the grace period an unpause starts."""
import brownie
from brownie.test import given, strategy
from proptest import property_settings
from unitkit import err

GRACE = 600


def expected(caller, before, after):
    """None if the call succeeds, else the error's name."""
    if caller == "gov":
        return None
    if caller != "guardian":
        return "NotGuardian"
    if any(b and not a for b, a in zip(before, after, strict=True)):
        return "GuardianCannotUnpause"
    if sum(b != a for b, a in zip(before, after, strict=True)) != 1:
        return "GuardianPausesOneFlag"
    return None


@property_settings(25, 500)
@given(calls=strategy("uint8[6]", max_value=23))
def test_only_the_governor_unpauses_and_the_guardian_pauses_one_flag_per_call(vault, gov, guardian, rando, calls):
    roles = {"gov": gov, "guardian": guardian, "rando": rando}
    if vault.liquidationGracePeriod() != GRACE:
        vault.setLiquidationGracePeriod(GRACE, {"from": gov})
    for c in calls:
        caller = ("gov", "guardian", "rando")[c // 8]
        after = tuple(bool(c >> i & 1) for i in range(3))
        before = (vault.borrowPaused(), vault.withdrawPaused(), vault.liquidatePaused())
        want = expected(caller, before, after)
        if want is None:
            tx = vault.setPaused(*after, {"from": roles[caller]})
            if before[2] and not after[2]:
                assert tx.events["LiquidationGraceStarted"]["until"] == tx.timestamp + GRACE
                assert vault.liquidationGraceUntil() == tx.timestamp + GRACE
            else:
                assert "LiquidationGraceStarted" not in tx.events
            assert (vault.borrowPaused(), vault.withdrawPaused(), vault.liquidatePaused()) == after
        else:
            with brownie.reverts(revert_pattern=err(want)):
                vault.setPaused(*after, {"from": roles[caller]})
            assert (vault.borrowPaused(), vault.withdrawPaused(), vault.liquidatePaused()) == before
