// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

import {IOracleRouter} from "../interfaces/IOracleRouter.sol";

/// @title OracleRouter
/// @notice Chainlink-style feeds behind one checked, 18-decimal price per asset.
/// @dev Only push feeds (no AMM spot, no short TWAP): a price cannot be moved inside the transaction that
/// reads it (bZx / Inverse incidents).
contract OracleRouter is IOracleRouter {
    uint8 internal constant WAD_DECIMALS = 18;
    uint8 internal constant MAX_FEED_DECIMALS = 36;

    /// @inheritdoc IOracleRouter
    address public governor;
    mapping(address asset => Feed) internal _feeds;

    constructor(address governor_) {
        if (governor_ == address(0)) revert ZeroAddress();
        governor = governor_;
        emit GovernorSet(address(0), governor_);
    }

    /// @inheritdoc IOracleRouter
    function setGovernor(address newGovernor) external {
        if (msg.sender != governor) revert NotGovernor(msg.sender);
        if (newGovernor == address(0)) revert ZeroAddress();
        emit GovernorSet(governor, newGovernor);
        governor = newGovernor;
    }

    /// @inheritdoc IOracleRouter
    function setFeed(address asset, AggregatorV3Interface feed, uint32 heartbeat) external {
        if (msg.sender != governor) revert NotGovernor(msg.sender);
        if (asset == address(0) || address(feed) == address(0)) revert ZeroAddress();
        if (heartbeat == 0) revert ZeroHeartbeat();
        uint8 dec = feed.decimals();
        if (dec > MAX_FEED_DECIMALS) revert FeedDecimalsOutOfRange(dec);
        // A contract with decimals() but no latestRoundData() (an ERC-20 LP token, a DEX pool) is refused here,
        // not at the first price read. A call that returns too little data reverts outside the try, also a refusal.
        // slither-disable-next-line unused-return -- only whether the feed answers matters at registration
        try feed.latestRoundData() returns (uint80, int256, uint256, uint256, uint80) {}
        catch {
            revert NotAnAggregator(address(feed));
        }
        _feeds[asset] = Feed({feed: feed, heartbeat: heartbeat, decimals: dec});
        emit FeedSet(asset, address(feed), heartbeat, dec);
    }

    /// @inheritdoc IOracleRouter
    function price(address asset) external view returns (uint256 wad) {
        Feed memory f = _feeds[asset];
        if (address(f.feed) == address(0)) revert NoFeed(asset);
        // slither-disable-next-line unused-return -- startedAt is not needed: staleness is judged on updatedAt, completeness on answeredInRound (I20)
        (uint80 roundId, int256 answer,, uint256 updatedAt, uint80 answeredInRound) = f.feed.latestRoundData();
        if (answer <= 0) revert NonPositivePrice(answer);
        if (updatedAt == 0 || answeredInRound < roundId) revert IncompleteRound(roundId, answeredInRound, updatedAt);
        // A feed timestamp ahead of the chain is not stale; only age is checked.
        if (updatedAt < block.timestamp && block.timestamp - updatedAt > f.heartbeat) {
            revert StalePrice(updatedAt, f.heartbeat);
        }
        if (f.decimals <= WAD_DECIMALS) {
            wad = uint256(answer) * 10 ** (WAD_DECIMALS - f.decimals);
        } else {
            wad = uint256(answer) / 10 ** (f.decimals - WAD_DECIMALS);
            if (wad == 0) revert NonPositivePrice(answer);
        }
    }

    /// @inheritdoc IOracleRouter
    function hasFeed(address asset) external view returns (bool) {
        return address(_feeds[asset].feed) != address(0);
    }

    /// @inheritdoc IOracleRouter
    function feedOf(address asset) external view returns (Feed memory) {
        return _feeds[asset];
    }
}
