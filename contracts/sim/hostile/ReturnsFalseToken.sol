// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {HostileERC20} from "./HostileERC20.sol";

/// @title ReturnsFalseToken
/// @notice Returns `false` instead of reverting when a transfer cannot be made (insufficient balance or
/// allowance; ZRX, old BAT/HT style) and moves nothing. A caller that ignores the return value credits a
/// deposit that never arrived; SafeERC20 turns the `false` into a revert.
contract ReturnsFalseToken is HostileERC20 {
    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        HostileERC20(name_, symbol_, decimals_)
    {}

    function transfer(address to, uint256 value) public override returns (bool) {
        if (balanceOf(msg.sender) < value) return false;
        return super.transfer(to, value);
    }

    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (balanceOf(from) < value || allowance(from, msg.sender) < value) return false;
        return super.transferFrom(from, to, value);
    }
}
