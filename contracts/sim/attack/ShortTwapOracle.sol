// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SpotPool} from "./SpotPool.sol";

/// @title ShortTwapOracle
/// @notice The time-weighted average of a SpotPool's token0 price since the last observation, which anyone may
/// record: the shape of the Keep3r SushiSwap oracle Inverse Finance read (Apr 2022), whose window was a few
/// blocks. Simulation only: it is not an AggregatorV3Interface feed and the OracleRouter refuses it.
contract ShortTwapOracle {
    SpotPool public immutable pool;
    uint256 public observedCumulative;
    uint256 public observedAt;

    /// @notice A new window starts at `timestamp`.
    event Observed(uint256 cumulative, uint256 timestamp);

    /// @notice No time has passed since the observation: the average is undefined.
    error EmptyWindow();

    constructor(SpotPool pool_) {
        pool = pool_;
        _observe();
    }

    /// @notice Start a new window now. Anyone may call it (as with the Keep3r oracle's `update`).
    function update() external {
        _observe();
    }

    /// @notice Average token0 price (token1 raw units per token0 raw unit, WAD) since the observation.
    function consult() external view returns (uint256 average, uint256 window) {
        (uint256 cumulative, uint256 timestamp) = pool.currentCumulative0();
        window = timestamp - observedAt;
        if (window == 0) revert EmptyWindow();
        average = (cumulative - observedCumulative) / window;
    }

    function _observe() internal {
        (observedCumulative, observedAt) = pool.currentCumulative0();
        emit Observed(observedCumulative, observedAt);
    }
}
