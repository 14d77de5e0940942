// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IVaultBase} from "./IVaultBase.sol";

/// @title IVaultLiquidation
/// @notice Liquidation under the vault's policy (`IVault.liquidationPolicy`), absorption, the sale of absorbed
/// collateral, and bad-debt settlement.
///
/// Health never falls (I9). Seizing collateral c to repay debt d moves the health factor toward
/// (1 + incentive) * wA_c / wL_d (maintenance weights): it falls whenever HF is below that ratio. With one
/// collateral and one debt that happens only when the collateral is worth less than debt x (1 + incentive),
/// i.e. when the account cannot pay the incentive anyway; in cross margin, mixed weights put HF there while
/// collateral is far above debt. With the shipped markets, 66,000 USDC + 0.7 WBTC against 40 WETH at $2,520 is
/// HF 0.9554; seizing USDC for half the WETH drops it to 0.9417, which unlocked the 100 % close factor, and two
/// more calls took all 40 WETH, where seizing WBTC lifts it to 1.019. So `liquidate` reverts
/// `HealthFactorNotImproved` when the health factor after the call is below the one before and the account's
/// collateral value is at least its debt value x (1 + the incentive this call pays). Why this rule: it refuses
/// exactly what I9 forbids and never leaves an unhealthy account without a liquidation. If the account's
/// collateral, each asset valued net of its own incentive, exceeds its debt (sum C_i / (1 + i_i) > sum D),
/// repaying the debt with the largest liability weight with some collateral raises HF (were every such pair
/// at or below HF, sum C_i wA_i >= HF x wL_max x sum C_i / (1 + i_i) > HF x wL_max x sum D >= sum C_i wA_i);
/// otherwise the account cannot pay the largest incentive it holds, and that pair is allowed. It needs no state
/// across calls (a close factor fixed per account and block only slows the walk, health still falls) and costs
/// one comparison of health sums the call computes anyway. Absorb leaves the account empty: health only rises.
///
/// The named amount is an upper bound (I26): no call pulls more than `repayAmount`. Dust (Aave 3.3): a
/// liquidation leaves the repaid debt at 0 or worth at least `minDebtLeftValue`, and the seized collateral at
/// 0 or worth at least `minCollateralLeftValue`, unless it closes one side completely. When the amount within
/// the policy's cap would leave dust, the call repays the smallest amount that closes one side — all of the
/// debt, or enough to take all of the collateral — if the amount named allows it (type(uint256).max always
/// does: that is how a small or nearly closed position is closed, beyond the close factor), and reverts
/// `LeavesDust` otherwise.
///
/// The vault serves these functions by delegatecall to its liquidation module (`VaultLiquidation`, deployed
/// before the vault, checked by its constructor and fixed for its life), so they run in the vault's storage,
/// under the vault's reentrancy lock, with the caller as `msg.sender`, and every event and error comes from the
/// vault's address.
interface IVaultLiquidation is IVaultBase {
    /// @notice Liquidate `(owner, subId)`, which must have health_maint < 0: repay up to `repayAmount`
    /// (type(uint256).max = as much as allowed) of its `debtToken` debt from the caller and take repaid x
    /// price_d x (1 + incentive) / price_c of its `collToken` deposit (rounded down). The caller's
    /// `(msg.sender, liquidatorSubId)` is credited that less the protocol's share (the collateral market's
    /// `protocolShare`) of the incentive part, which goes to reserves. Reverts `WrongLiquidationPolicy` under
    /// `Absorb`.
    /// @dev Size cap and incentive by policy (`IVault.liquidationParams`):
    /// - CloseFactor: incentive = the collateral's `liquidationBonus`; cap = `closeFactor` of the `debtToken`
    ///   debt, all of it when healthFactor < `fullCloseHealthFactor`.
    /// - FixedIncentive: incentive = min(`maxIncentive`, 1 / (1 - `incentiveCursor` x (1 -
    ///   assetWeightMaint_c)) - 1) (Morpho's LIF with the collateral's maintenance weight as its LLTV; it
    ///   keeps assetWeightMaint_c x (1 + incentive) <= 1); cap = the whole debt.
    /// - Dutch: incentive = 1 / max(healthFactor, 1 - `maxDiscount`) - 1 (it grows as health falls); cap =
    ///   the repay that lifts the health factor to `targetHealthFactor` with this pair (rounded up), the whole
    ///   debt when this pair cannot lift it.
    /// Then the seizure is capped by the deposit and the repay shrinks to match; the dust rule above may raise
    /// the repay to close a side (never beyond `repayAmount`); the health rule above may refuse the result. A
    /// fee-on-transfer debt token is credited what arrived and the liquidator is paid for that only; the
    /// collateral the fee did not pay for stays with the account, unless the quote took the whole deposit and
    /// the account is left with debt and no other collateral, in which case it goes to reserves (in
    /// `protocolCut`) so that the debt is settled now instead of shrinking by the fee at every call. A repay
    /// too small to burn any debt scale reverts `NothingToLiquidate`. If the sub-account ends with debt and no
    /// deposit worth a token unit, its bad debt is settled in the same call.
    function liquidate(
        address owner,
        uint8 subId,
        address debtToken,
        address collToken,
        uint256 repayAmount,
        uint8 liquidatorSubId
    ) external returns (uint256 repaid, uint256 seized);

    /// @notice What `liquidate(owner, subId, debtToken, collToken, repayAmount, liquidatorSubId)` would do if it
    /// ran now under the policy in force: the same quote, by the same code, on the same state; it moves nothing
    /// and needs no funds, approval or sender (a view: `eth_call` / `cast call`).
    /// @dev Returns exactly what the liquidation would repay, seize, credit and report in its `Liquidated`
    /// event, or reverts with exactly the custom error the liquidation would revert with (`LiquidationPaused`,
    /// `WrongLiquidationPolicy`, `ZeroAmount`, `MarketNotListed`, `AccountHealthy`, `NoDebt`, `NoCollateral`,
    /// `LeavesDust`, `NothingToLiquidate`, `HealthFactorNotImproved`, or an oracle's error), so one check serves a
    /// keeper, an auditor and a test. What it cannot know: the liquidator (so not `SelfLiquidation`, nor the
    /// liquidator's balance and allowance), a fee-on-transfer debt token's fee (it assumes `repaid` arrives in
    /// full), and interest or prices that move before a later transaction runs (a preview at block n is exact
    /// for a liquidation in block n). Reverts `ReentrancyGuardReentrantCall` while the vault's lock is held (from
    /// a token's hook inside a vault call, where the books are half-written).
    function previewLiquidation(
        address owner,
        uint8 subId,
        address debtToken,
        address collToken,
        uint256 repayAmount
    ) external view returns (LiquidationPreview memory preview);

    /// @notice Under policy `Absorb`, the protocol takes over `(owner, subId)` whole: it must have
    /// health_maint < 0; every deposit moves, scale for scale, to the protocol's sub-account `(vault, 0)`
    /// (`CollateralAbsorbed` each), and every debt is written off as `settleBadDebt` writes it off: that
    /// market's reserves pay first, the rest lowers its deposit index (`BadDebtSettled` each). Anyone may call;
    /// the caller gets nothing (Compound III's absorb). Emits `Absorbed`, which counts as one liquidation.
    /// @return collateralValue The account's deposits, valued before (USD WAD).
    /// @return debtValue The account's debts, valued before (USD WAD).
    function absorb(address owner, uint8 subId) external returns (uint256 collateralValue, uint256 debtValue);

    /// @notice Buy up to the protocol's whole absorbed `collToken` (its sub-account `(vault, 0)`) with up to
    /// `payAmount` of `payToken` (any other listed market): bought = paid x price_pay x (1 + incentive) /
    /// price_coll (rounded down), incentive = `storeFrontFactor` x the collateral's `liquidationBonus`. What is
    /// bought is credited to `(msg.sender, buyerSubId)` as a deposit; what is paid goes to `payToken`'s
    /// reserves. Works under every policy (absorbed collateral outlives a policy change); liquidation pauses
    /// pause it.
    /// @dev `payAmount` is an upper bound: when it buys more than is held, the payment shrinks (rounded up) to
    /// what buys all of it. A fee-on-transfer `payToken` buys only with what arrived. Reverts
    /// `PayTokenIsCollateral`, `NoCollateral` (nothing absorbed), `NothingToLiquidate` (buys nothing) and
    /// `BoughtBelowMinimum` (fewer than `minCollateral`: the oracle moved).
    function buyCollateral(
        address collToken,
        address payToken,
        uint256 payAmount,
        uint256 minCollateral,
        uint8 buyerSubId
    ) external returns (uint256 paid, uint256 bought);

    /// @notice Write off the debt of `(owner, subId)`, which must owe something and hold no deposit worth a
    /// token unit: reserves of each debt asset absorb first, the rest lowers that asset's deposit index.
    /// @dev Deposit scale worth 0 (rounding dust, or left so by an earlier socialised loss) is cleared too.
    function settleBadDebt(address owner, uint8 subId) external;
}
