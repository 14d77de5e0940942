// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {HostileERC20} from "./HostileERC20.sol";

/// @title RebasingToken
/// @notice Balances are shares × a settable multiplier (stETH, AMPL): a rebase changes every holder's
/// `balanceOf`, the vault's included, without any transfer. Transfers move the shares worth `amount`,
/// rounded up, so a sender is never debited less than it sent (the stETH 1–2 wei corner case shows up as
/// the receiver seeing up to one share's worth more than `amount` when the multiplier is not 1).
contract RebasingToken is HostileERC20 {
    uint256 public constant WAD = 1e18;

    /// @notice Token units per share, WAD. Starts at 1.
    uint256 public multiplier = WAD;
    uint256 public totalShares;
    mapping(address => uint256) public sharesOf;

    event Rebased(uint256 multiplier);

    error InsufficientShares(address holder, uint256 shares, uint256 needed);
    error ZeroMultiplier();

    constructor(string memory name_, string memory symbol_, uint8 decimals_)
        HostileERC20(name_, symbol_, decimals_)
    {}

    /// @notice Rebase every balance by `multiplier_ / WAD` of its shares.
    function setMultiplier(uint256 multiplier_) external onlyDeployer {
        if (multiplier_ == 0) revert ZeroMultiplier();
        multiplier = multiplier_;
        emit Rebased(multiplier_);
    }

    function balanceOf(address account) public view override returns (uint256) {
        return sharesOf[account] * multiplier / WAD;
    }

    function totalSupply() public view override returns (uint256) {
        return totalShares * multiplier / WAD;
    }

    function _update(address from, address to, uint256 value) internal override {
        uint256 shares = (value * WAD + multiplier - 1) / multiplier; // rounded up: against the sender
        if (from == address(0)) {
            totalShares += shares;
        } else {
            uint256 held = sharesOf[from];
            if (held < shares) revert InsufficientShares(from, held, shares);
            unchecked {
                sharesOf[from] = held - shares;
            }
        }
        if (to == address(0)) {
            totalShares -= shares;
        } else {
            sharesOf[to] += shares;
        }
        emit Transfer(from, to, value);
    }
}
