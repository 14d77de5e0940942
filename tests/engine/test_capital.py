"""Capital efficiency (issue 21, item 1): the capital each book needs in cross and isolated margin, checked
against hand computations from the scenario's own prices and initial weights."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from marginlab.report.capital import capital_efficiency, render_capital
from marginlab.scenario.plan import build_plan
from marginlab.scenario.validate import load_scenario, parse_scenario_text

ROOT = Path(__file__).resolve().parents[2]


def _plan(name: str):
    scenario, doc = load_scenario(ROOT / "scenarios" / name)
    return build_plan(scenario, doc)


def test_hedged_book_capital_matches_the_hand_computation():
    # hedged-book.yaml: position 0 deposits 10 WETH @ 2000 (20000 USD, asset weight init 0.80) and borrows
    # 12000 USDC (liability weight init 1.0); position 1 deposits 20000 USDC (asset weight init 0.90) and borrows
    # 0.25 WBTC @ 60000 (15000 USD, liability weight init 1.10). Deposits: 40000 USD.
    #
    # Isolated, deposits × k:   position 0: 0.80·20000k − 12000 ≥ 0        → k ≥ 12000/16000 = 3/4
    #                           position 1: 0.90·20000k − 1.10·15000 ≥ 0  → k ≥ 16500/18000 = 11/12
    #   one k for both: 11/12; capital 11/12 · 40000 = 36666.67 USD; the book scales by 12/11 at most.
    # Cross: one sub-account, USDC netted: WETH +10k, USDC 20000k − 12000 (a deposit once k ≥ 0.6), WBTC −0.25:
    #   0.80·20000k + 0.90·(20000k − 12000) − 1.10·15000 = 34000k − 27300 ≥ 0 → k ≥ 27300/34000 = 273/340
    #   (≥ 0.6, so USDC is indeed a deposit there); capital 273/340 · 40000 = 32117.647… USD; scale 340/273.
    [alice] = capital_efficiency(_plan("hedged-book.yaml"))
    assert alice.cross.deposits_usd == alice.isolated.deposits_usd == 40000
    assert alice.cross.k == Fraction(273, 340)
    assert alice.cross.capital_usd == Fraction(273, 340) * 40000
    assert alice.cross.max_scale == Fraction(340, 273)
    assert alice.isolated.k == Fraction(11, 12)
    assert alice.isolated.capital_usd == Fraction(110000, 3)
    assert alice.isolated.max_scale == Fraction(12, 11)
    assert alice.freed_usd == Fraction(110000, 3) - Fraction(273, 340) * 40000
    # Which legs offset which: position 1's USDC deposit against position 0's USDC borrow, 12000 USD netted,
    # freeing (1.0 − 0.9) · 12000 = 1200 USD of initial health.
    [usdc] = alice.offsets
    assert (usdc.symbol, usdc.depositors, usdc.borrowers) == ("USDC", (1,), (0,))
    assert usdc.netted_usd == 12000 and usdc.health_freed_usd == 1200
    text = "\n".join(render_capital([alice]))
    assert "| alice | cross | 40000 | 0.802942 | 32117.65 | 1.2454 | 4549.01 |" in text
    assert "| alice | isolated | 40000 | 0.916667 | 36666.67 | 1.0909 |  |" in text
    assert "USDC deposited by position 1 nets against the USDC borrowed by position 0" in text


def test_drain_capital_needs_less_in_cross():
    # bob: position 0 1 WBTC (60000 USD, 0.75) against 30000 USDC (1.0); position 1 5000 USDC (0.90) against
    # 3000 MEME @ 1 (1.30). Isolated: k ≥ max(30000/45000, 3900/4500) = 13/15. Cross (USDC nets once k ≥ 6):
    # below that USDC is a debt: 45000k − (30000 − 5000k) − 3900 ≥ 0 → k ≥ 33900/50000 = 339/500.
    [bob] = capital_efficiency(_plan("drain.yaml"))
    assert bob.isolated.k == Fraction(13, 15)
    assert bob.cross.k == Fraction(339, 500)
    assert bob.cross.capital_usd == Fraction(339, 500) * 65000


def test_a_book_without_debt_needs_no_capital_and_one_without_deposits_cannot_open():
    text = """
name: edge
markets:
  - {symbol: WETH, decimals: 18, price: 2000, asset_weight: {init: 0.8, maint: 0.85},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.05}
  - {symbol: USDC, decimals: 6, price: 1, asset_weight: {init: 0.9, maint: 0.95},
     liab_weight: {init: 1.0, maint: 1.0}, liquidation_bonus: 0.02}
accounts:
  - {name: saver, positions: [{deposit: {WETH: 1}}]}
  - {name: naked, positions: [{deposit: {WETH: 1}, borrow: {USDC: 100}}, {borrow: {USDC: 10}}]}
"""
    scenario, doc = parse_scenario_text(text, "edge.yaml")
    saver, naked = capital_efficiency(build_plan(scenario, doc))
    assert saver.cross.k == 0 and saver.cross.capital_usd == 0 and saver.cross.max_scale is None
    # naked's position 1 borrows with no deposit: in isolation nothing opens it; in cross the WETH backs both.
    assert naked.isolated.k is None and naked.freed_usd is None
    assert naked.cross.k == Fraction(110, 1600)
    rendered = "\n".join(render_capital([saver, naked]))
    assert "| naked | isolated | 2000 | cannot open | cannot open | – |  |" in rendered
    assert "| saver | cross | 2000 | 0 | 0 | ∞ | 0 |" in rendered


def test_a_timeline_with_strategy_acts_reads_back_to_the_same_bytes():
    from marginlab.timeline import timeline_from_json, timeline_json

    text = (ROOT / "tests" / "golden" / "drain-stop-loss.cross.json").read_text(encoding="utf-8")
    timeline = timeline_from_json(text)
    assert timeline.strategy_acts and timeline.strategy_acts[0].strategy == "stop_loss[0]"
    assert timeline_json(timeline) == text


def test_on_aave_the_figures_follow_each_reserves_ltv_with_debt_at_one_and_no_netting():
    # Aave v3 as marginlab configures it: LTV = asset_weight.init in bps (WETH 8000, USDC 9000), debt at 1 (no
    # liability weights), a USDC supply and a USDC debt kept apart.
    #   cross:     0.80·20000k + 0.90·20000k − 12000 − 15000 ≥ 0 → k ≥ 27000/34000 = 27/34
    #   isolated:  position 0: 16000k ≥ 12000 → 3/4; position 1: 18000k ≥ 15000 → 5/6; one k: 5/6
    [alice] = capital_efficiency(_plan("hedged-book.yaml"), "aave-v3")
    assert alice.cross.k == Fraction(27, 34) and alice.cross.capital_usd == Fraction(27, 34) * 40000
    assert alice.isolated.k == Fraction(5, 6) and alice.isolated.max_scale == Fraction(6, 5)
    assert alice.freed_usd == Fraction(5, 6) * 40000 - Fraction(27, 34) * 40000
    assert alice.offsets == () and not alice.nets  # Aave does not net: no "netted" notes
    text = "\n".join(render_capital([alice]))
    assert "| alice | cross | 40000 | 0.794118 | 31764.71 | 1.2592 | 1568.62 |" in text
    assert "| alice | isolated | 40000 | 0.833334 | 33333.34 | 1.2 |  |" in text
    assert "Rules: Aave v3's, as marginlab configures its reserves" in text and "nets against" not in text
    assert "keeps a deposit and a borrow of one asset apart (no netting)" in text


def test_on_morpho_the_figures_follow_each_markets_lltv_and_a_cross_book_is_not_expressible():
    # Morpho Blue as marginlab creates its markets: LLTV = collateral asset_weight.maint ÷ loan liab_weight.maint,
    # floored to WAD: WETH/USDC 0.85, USDC/WBTC 0.95 / 1.05 = 0.904761904761904761…; debt at 1.
    #   isolated: position 0: 0.85·20000k ≥ 12000 → 12/17; position 1: L·20000k ≥ 15000 → 3/(4L), the larger.
    #   cross: one sub-account holding WETH and USDC against USDC and WBTC: no Morpho market pairs that.
    lltv = Fraction(904761904761904761, 10**18)
    [alice] = capital_efficiency(_plan("hedged-book.yaml"), "morpho-blue")
    assert alice.isolated.k == Fraction(3, 4) / lltv > Fraction(12, 17)
    assert alice.isolated.capital_usd == Fraction(3, 4) / lltv * 40000
    assert alice.cross.k is None and alice.cross.refused is not None and alice.freed_usd is None
    text = "\n".join(render_capital([alice]))
    assert "| alice | cross | 40000 | not expressible | not expressible | – | – |" in text
    assert "| alice | isolated | 40000 | 0.828948 | 33157.9 | 1.2063 |  |" in text
    assert "alice, cross margin: not expressible: it holds USDC, WETH against USDC, WBTC: a morpho-blue position " \
           "pairs one collateral asset with one other loan asset." in text
    assert "Rules: Morpho Blue's, as marginlab creates its markets" in text
    assert "cannot hold these books in cross margin" in text and "pooling alone" not in text


def test_a_protocol_marginlab_does_not_know_gets_the_vaults_figures_labelled_as_such():
    plan = _plan("hedged-book.yaml")
    [vault] = capital_efficiency(plan)
    [other] = capital_efficiency(plan, "my-adapter")
    assert (other.cross, other.isolated) == (vault.cross, vault.isolated)
    assert "Rules: the marginlab vault's initial weights (asset_weight.init" in "\n".join(render_capital([vault]))
    assert "not my-adapter's own (marginlab does not know them): read these figures as the vault's" in \
        "\n".join(render_capital([other]))
