// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title HostileERC20
/// @notice Shared base of the hostile test tokens: an OpenZeppelin ERC20 with chosen decimals that only its
/// deployer can mint. Each hostile token overrides one behaviour; everything else stays standard so a test
/// failure points at that one behaviour.
abstract contract HostileERC20 is ERC20 {
    /// @notice Only the deployer may mint or change the token's hostile setting.
    error NotDeployer(address caller);

    address public immutable deployer;
    uint8 private immutable _decimals;

    constructor(string memory name_, string memory symbol_, uint8 decimals_) ERC20(name_, symbol_) {
        deployer = msg.sender;
        _decimals = decimals_;
    }

    modifier onlyDeployer() {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        _;
    }

    function decimals() public view virtual override returns (uint8) {
        return _decimals;
    }

    function mint(address to, uint256 amount) external virtual onlyDeployer {
        _mint(to, amount);
    }
}
