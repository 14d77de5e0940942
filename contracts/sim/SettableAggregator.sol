// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AggregatorV3Interface} from "@chainlink/contracts/src/v0.8/shared/interfaces/AggregatorV3Interface.sol";

/// @title SettableAggregator
/// @notice A Chainlink-compatible feed whose rounds the simulator (its deployer) writes. Simulation only.
contract SettableAggregator is AggregatorV3Interface {
    struct Round {
        int256 answer;
        uint256 startedAt;
        uint256 updatedAt;
        uint80 answeredInRound;
    }

    /// @notice A round was written.
    event RoundSet(uint80 indexed roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    /// @notice Only the deployer may write rounds.
    error NotOwner(address caller);
    /// @notice The requested round was never written.
    error NoRound(uint80 roundId);

    address public immutable owner;
    uint8 public immutable decimals;
    uint80 public latestRound;
    mapping(uint80 roundId => Round) internal _rounds;

    constructor(uint8 decimals_, int256 initialAnswer) {
        owner = msg.sender;
        decimals = decimals_;
        _write(1, initialAnswer, block.timestamp, block.timestamp, 1);
    }

    /// @notice Start a new, complete round with `answer` at this block's time.
    function setAnswer(int256 answer) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        uint80 roundId = latestRound + 1;
        _write(roundId, answer, block.timestamp, block.timestamp, roundId);
    }

    /// @notice Write an arbitrary round and make it the latest (stale, incomplete or future rounds).
    function setRoundData(
        uint80 roundId,
        int256 answer,
        uint256 startedAt,
        uint256 updatedAt,
        uint80 answeredInRound
    ) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _write(roundId, answer, startedAt, updatedAt, answeredInRound);
    }

    function description() external pure returns (string memory) {
        return "marginlab settable aggregator";
    }

    function version() external pure returns (uint256) {
        return 1;
    }

    function getRoundData(uint80 roundId) external view returns (uint80, int256, uint256, uint256, uint80) {
        Round memory r = _rounds[roundId];
        if (r.updatedAt == 0 && r.answeredInRound == 0) revert NoRound(roundId);
        return (roundId, r.answer, r.startedAt, r.updatedAt, r.answeredInRound);
    }

    function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
        Round memory r = _rounds[latestRound];
        return (latestRound, r.answer, r.startedAt, r.updatedAt, r.answeredInRound);
    }

    /// @notice The latest answer, for humans and scripts.
    function latestAnswer() external view returns (int256) {
        return _rounds[latestRound].answer;
    }

    function _write(uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
        internal
    {
        latestRound = roundId;
        _rounds[roundId] = Round(answer, startedAt, updatedAt, answeredInRound);
        emit RoundSet(roundId, answer, startedAt, updatedAt, answeredInRound);
    }
}
