// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IInterestRateModel} from "../interfaces/IInterestRateModel.sol";
import {WadMath} from "./libraries/WadMath.sol";

/// @title InterestRateModel
/// @notice Kinked borrow-rate curve: base + slope1 × u / kink up to the kink, then slope2 on top for the
/// part of utilisation above it. Yearly rates in WAD, divided by 365 days for the per-second rate.
contract InterestRateModel is IInterestRateModel {
    using WadMath for uint256;

    uint256 internal constant WAD = 1e18;
    uint256 public constant SECONDS_PER_YEAR = 365 days;

    uint256 public immutable baseRatePerYear;
    uint256 public immutable slope1PerYear;
    uint256 public immutable slope2PerYear;
    /// @notice Optimal utilisation (WAD), 0 < kink <= 1e18.
    uint256 public immutable kink;

    constructor(uint256 baseRatePerYear_, uint256 slope1PerYear_, uint256 slope2PerYear_, uint256 kink_) {
        if (kink_ == 0 || kink_ > WAD) revert InvalidKink(kink_);
        baseRatePerYear = baseRatePerYear_;
        slope1PerYear = slope1PerYear_;
        slope2PerYear = slope2PerYear_;
        kink = kink_;
    }

    /// @notice Borrow rate per year (WAD) at `utilization`, rounded down.
    function borrowRatePerYear(uint256 utilization) public view returns (uint256) {
        if (utilization <= kink || kink == WAD) {
            return baseRatePerYear + slope1PerYear.mulDivDown(utilization, kink);
        }
        return baseRatePerYear + slope1PerYear + slope2PerYear.mulDivDown(utilization - kink, WAD - kink);
    }

    /// @inheritdoc IInterestRateModel
    function borrowRatePerSecond(uint256 utilization) external view returns (uint256) {
        return borrowRatePerYear(utilization) / SECONDS_PER_YEAR;
    }
}
