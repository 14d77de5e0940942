// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {HostileERC20} from "./HostileERC20.sol";

/// @title FeeOnTransferToken
/// @notice Burns `feeBps` / 10_000 of every transfer between two holders (STA, PAXG, USDT with its fee switched
/// on): the receiver gets less than the amount passed to `transfer`/`transferFrom`. Mints and burns pay no fee.
/// A vault must credit what it actually received (its balance delta), not the amount argument.
contract FeeOnTransferToken is HostileERC20 {
    error FeeTooHigh(uint256 feeBps);

    uint256 public constant BPS = 10_000;
    uint256 public feeBps;

    constructor(string memory name_, string memory symbol_, uint8 decimals_, uint256 feeBps_)
        HostileERC20(name_, symbol_, decimals_)
    {
        _setFee(feeBps_);
    }

    function setFeeBps(uint256 feeBps_) external onlyDeployer {
        _setFee(feeBps_);
    }

    /// @notice What `to` receives when `amount` is sent.
    function received(uint256 amount) public view returns (uint256) {
        return amount - amount * feeBps / BPS;
    }

    function _setFee(uint256 feeBps_) private {
        if (feeBps_ >= BPS) revert FeeTooHigh(feeBps_);
        feeBps = feeBps_;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = value * feeBps / BPS; // rounded down: the fee never exceeds its rate
        super._update(from, to, value - fee);
        if (fee > 0) super._update(from, address(0), fee);
    }
}
