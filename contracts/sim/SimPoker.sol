// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IOracleRouter} from "../../interfaces/IOracleRouter.sol";

/// @title SimPoker
/// @notice The simulator's keeper for the router's circuit breakers: after every step's new rounds it pokes each
/// banded market, so a breaker's reference follows the market once per window as a real keeper would. A poke the
/// router refuses (a tripped breaker, or any other untrusted price) is reported, never reverted, so one refusal
/// does not stop the others. Simulation only; anyone may call it, as anyone may poke.
contract SimPoker {
    /// @notice The router refused to poke `asset` with `reason` (its revert data).
    event PokeRefused(address indexed asset, bytes reason);

    /// @notice `router.poke(asset)` for every asset; a refusal emits PokeRefused instead of reverting.
    function pokeAll(IOracleRouter router, address[] calldata assets) external {
        for (uint256 i; i < assets.length; ++i) {
            // slither-disable-next-line unused-return -- the accepted price is the router's business; only a refusal is reported
            try router.poke(assets[i]) {}
            catch (bytes memory reason) {
                emit PokeRefused(assets[i], reason);
            }
        }
    }
}
