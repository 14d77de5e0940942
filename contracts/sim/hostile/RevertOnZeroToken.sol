// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {HostileERC20} from "./HostileERC20.sol";

/// @title RevertOnZeroToken
/// @notice Reverts on any zero-amount transfer (LEND, some bridged tokens). A protocol that pays out a
/// zero-rounded amount (a liquidation's protocol share, a dust withdrawal) must skip the transfer rather
/// than revert.
contract RevertOnZeroToken is HostileERC20 {
    error ZeroAmountTransfer(address from, address to);

    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        HostileERC20(name_, symbol_, decimals_)
    {}

    function _update(address from, address to, uint256 value) internal override {
        if (value == 0) revert ZeroAmountTransfer(from, to);
        super._update(from, to, value);
    }
}
