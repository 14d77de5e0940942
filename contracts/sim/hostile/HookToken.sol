// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {HostileERC20} from "./HostileERC20.sol";

/// @notice Callbacks a HookToken makes, ERC777-style (`tokensToSend` before the balances move,
/// `tokensReceived` after).
interface ITokenHook {
    function tokensToSend(address operator, address from, address to, uint256 amount) external;
    function tokensReceived(address operator, address from, address to, uint256 amount) external;
}

/// @title HookToken
/// @notice An ERC20 with ERC777/ERC677-style transfer hooks (imBTC, AMP, xDAI-bridged tokens): a holder
/// registers a hook contract, and every transfer calls the sender's hook before moving balances and the
/// receiver's hook after. This hands control to an attacker in the middle of a vault call, which is how
/// Cream (AMP, Aug 2021), Agave and Hundred (Mar 2022) were drained. Mints and burns call no hook.
contract HookToken is HostileERC20 {
    /// @notice The hook of each holder (ERC1820's role, kept in the token for a self-contained test).
    mapping(address => address) public hookOf;

    event HookSet(address indexed holder, address hook);

    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        HostileERC20(name_, symbol_, decimals_)
    {}

    /// @notice The caller's transfers will call `hook` (zero to stop).
    function setHook(address hook) external {
        hookOf[msg.sender] = hook;
        emit HookSet(msg.sender, hook);
    }

    function _update(address from, address to, uint256 value) internal override {
        bool isTransfer = from != address(0) && to != address(0);
        if (isTransfer && hookOf[from] != address(0)) {
            ITokenHook(hookOf[from]).tokensToSend(msg.sender, from, to, value);
        }
        super._update(from, to, value);
        if (isTransfer && hookOf[to] != address(0)) {
            ITokenHook(hookOf[to]).tokensReceived(msg.sender, from, to, value);
        }
    }
}
