// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {WadMath} from "./WadMath.sol";

/// @title CloseFactorPolicy
/// @notice Aave-like liquidation: the collateral's own bonus, a share of one debt per call, all of it once
/// the account is unhealthy enough.
library CloseFactorPolicy {
    using WadMath for uint256;

    /// @dev The most of `debt` one call may repay: `closeFactor` of it (rounded down), or all of it when
    /// `healthFactor` < `fullCloseHealthFactor`.
    function maxRepayDown(uint256 debt, uint256 healthFactor, uint256 closeFactor, uint256 fullCloseHealthFactor)
        internal
        pure
        returns (uint256)
    {
        return healthFactor < fullCloseHealthFactor ? debt : debt.wMulDown(closeFactor);
    }
}
