// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title IOracleRouter
/// @notice The only source of prices for the Vault: reads Chainlink-style feeds, rejects bad rounds and
/// normalises every answer to USD per whole token with 18 decimals (WAD).
interface IOracleRouter {
    /// @notice A registered feed. `decimals` is cached from the feed when it is set.
    struct Feed {
        AggregatorV3Interface feed;
        uint32 heartbeat;
        uint8 decimals;
    }

    /// @notice `asset` is now priced by `feed`, whose answers older than `heartbeat` seconds are stale.
    event FeedSet(address indexed asset, address indexed feed, uint32 heartbeat, uint8 decimals);
    /// @notice Governance moved from `previous` to `governor`.
    event GovernorSet(address indexed previous, address indexed governor);

    /// @notice The caller is not the governor.
    error NotGovernor(address caller);
    /// @notice A zero address was given where a contract or account is required.
    error ZeroAddress();
    /// @notice A heartbeat of 0 would make every round stale.
    error ZeroHeartbeat();
    /// @notice The feed reports more than 36 decimals.
    error FeedDecimalsOutOfRange(uint8 decimals);
    /// @notice `feed` does not answer `latestRoundData()` (e.g. a DEX pool or a TWAP contract given by mistake).
    error NotAnAggregator(address feed);
    /// @notice No feed is registered for `asset`.
    error NoFeed(address asset);
    /// @notice The feed answered 0 or less (or an answer that normalises to 0).
    error NonPositivePrice(int256 answer);
    /// @notice The round was last updated more than `heartbeat` seconds ago.
    error StalePrice(uint256 updatedAt, uint32 heartbeat);
    /// @notice The round has no update time or was answered in an earlier round.
    error IncompleteRound(uint80 roundId, uint80 answeredInRound, uint256 updatedAt);

    /// @notice The address allowed to set feeds.
    function governor() external view returns (address);

    /// @notice Hand governance to `newGovernor`. Governor only.
    function setGovernor(address newGovernor) external;

    /// @notice Price `asset` with `feed`; rounds older than `heartbeat` seconds are rejected. Governor only.
    /// @dev Reads and caches `feed.decimals()`, which must be at most 36, and requires `feed.latestRoundData()`
    /// to answer (its values are judged on every read, not here: a feed may be briefly stale when registered).
    function setFeed(address asset, AggregatorV3Interface feed, uint32 heartbeat) external;

    /// @notice USD per one whole `asset` token, 18 decimals.
    /// @dev Reverts NoFeed, NonPositivePrice, IncompleteRound or StalePrice; never returns 0.
    function price(address asset) external view returns (uint256);

    /// @notice Whether `asset` has a feed.
    function hasFeed(address asset) external view returns (bool);

    /// @notice The registered feed of `asset` (zero struct if none).
    function feedOf(address asset) external view returns (Feed memory);
}
