// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {WadMath} from "./WadMath.sol";

/// @title DutchPolicy
/// @notice Euler-v2-like liquidation: the discount grows as the health factor falls, up to a cap, and one call
/// may repay up to the amount that restores health.
library DutchPolicy {
    using WadMath for uint256;

    uint256 internal constant WAD = 1e18;

    /// @dev 1 / max(`healthFactor`, 1 - `maxDiscount`) - 1, WAD, rounded down (Euler v2: the liquidator's
    /// repay buys collateral worth repay / discountFactor, discountFactor = the health factor, floored).
    function incentiveDown(uint256 healthFactor, uint256 maxDiscount) internal pure returns (uint256) {
        uint256 floor = WAD - maxDiscount;
        uint256 discountFactor = healthFactor > floor ? healthFactor : floor;
        return WAD.wDivDown(discountFactor) - WAD;
    }

    /// @dev Repay value (USD WAD, rounded up) that lifts collMaint / debtMaint to `target` when each repaid
    /// dollar removes `liabWeightMaint` of weighted debt and (1 + incentive) x `assetWeightMaint` of weighted
    /// collateral: (target x debtMaint - collMaint) / (target x wL - (1 + incentive) x wA). Returns
    /// type(uint256).max when the pair cannot lift it (the divisor is not positive: this pair lowers or keeps
    /// health, so no amount restores it) and 0 when the account is already at the target.
    function repayValueToRestoreUp(
        uint256 collMaint,
        uint256 debtMaint,
        uint256 target,
        uint256 incentive,
        uint256 assetWeightMaint,
        uint256 liabWeightMaint
    ) internal pure returns (uint256) {
        uint256 needed = debtMaint.wMulUp(target);
        if (needed <= collMaint) return 0;
        uint256 lift = target.wMulDown(liabWeightMaint);
        uint256 loss = (WAD + incentive).wMulUp(assetWeightMaint);
        if (lift <= loss) return type(uint256).max;
        return (needed - collMaint).mulDivUp(WAD, lift - loss);
    }
}
