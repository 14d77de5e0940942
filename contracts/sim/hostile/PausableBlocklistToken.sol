// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {HostileERC20} from "./HostileERC20.sol";

/// @title PausableBlocklistToken
/// @notice USDC-style admin powers: the deployer can pause every transfer and block single addresses from
/// sending or receiving. A lending vault holding it must stay live where it can: a blocked or paused
/// collateral can still be seized in a liquidation if seizure is a book entry, not a transfer.
contract PausableBlocklistToken is HostileERC20, Pausable {
    error Blocked(address account);

    mapping(address => bool) public blocked;

    event BlockedSet(address indexed account, bool blocked);

    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        HostileERC20(name_, symbol_, decimals_)
    {}

    function pause() external onlyDeployer {
        _pause();
    }

    function unpause() external onlyDeployer {
        _unpause();
    }

    function setBlocked(address account, bool isBlocked) external onlyDeployer {
        blocked[account] = isBlocked;
        emit BlockedSet(account, isBlocked);
    }

    function _update(address from, address to, uint256 value) internal override whenNotPaused {
        if (blocked[from]) revert Blocked(from);
        if (blocked[to]) revert Blocked(to);
        super._update(from, to, value);
    }
}
