// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {WadMath} from "./WadMath.sol";

/// @title FixedIncentivePolicy
/// @notice Morpho-like liquidation: any size, an incentive fixed by the collateral's maintenance weight
/// (Morpho Blue's liquidation incentive factor with that weight as the LLTV).
library FixedIncentivePolicy {
    using WadMath for uint256;

    uint256 internal constant WAD = 1e18;

    /// @dev min(`maxIncentive`, 1 / (1 - `cursor` x (1 - `assetWeightMaint`)) - 1), WAD. The product is rounded
    /// down, so the divisor rounds up and the incentive down. For cursor <= 1 it keeps assetWeightMaint x
    /// (1 + incentive) <= 1: w / (1 - c(1 - w)) <= 1 iff (1 - c)(1 - w) >= 0.
    function incentiveDown(uint256 assetWeightMaint, uint256 cursor, uint256 maxIncentive)
        internal
        pure
        returns (uint256)
    {
        uint256 factor = WAD.wDivDown(WAD - cursor.wMulDown(WAD - assetWeightMaint));
        uint256 incentive = factor - WAD;
        return incentive < maxIncentive ? incentive : maxIncentive;
    }
}
