// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IInterestRateModel
/// @notice A borrow-rate curve queried by the Vault on every accrual.
interface IInterestRateModel {
    /// @notice The model's kink is 0 or above 1e18.
    error InvalidKink(uint256 kink);

    /// @notice Borrow rate per second (WAD) at `utilization` (WAD, borrows / deposits).
    /// @dev The Vault passes utilisation capped at 1e18. Rounded down.
    function borrowRatePerSecond(uint256 utilization) external view returns (uint256);
}
