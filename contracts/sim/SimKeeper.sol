// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IVault} from "../../interfaces/IVault.sol";

/// @title SimKeeper
/// @notice The simulator's liquidation bot: runs one keeper round (liquidations and bad-debt settlements) in one
/// transaction, in order. A call the vault rejects is reported (`Failed`) and the rest go on; a failure without
/// revert data (out of gas) reverts everything, so a too-low gas limit can never pass for a vault decision.
/// Under the vault's `Absorb` policy a round absorbs instead (an op with both tokens zero), and the keeper buys
/// the absorbed collateral with `buyCollateral`. Simulation only.
contract SimKeeper {
    using SafeERC20 for IERC20;

    /// @dev settle = false: liquidate(owner, subId, debtToken, collToken, max, liquidatorSubId), or, with both
    /// tokens zero, absorb(owner, subId) (the whole account: no pair to name); settle = true: settleBadDebt.
    struct Op {
        bool settle;
        address owner;
        uint8 subId;
        address debtToken;
        address collToken;
    }

    /// @notice Op `index` reverted with `reason` (the vault's custom error).
    event Failed(uint256 indexed index, bytes reason);
    /// @notice The owner had this keeper call `selector` on `target` (see `execute`).
    event Executed(address indexed target, bytes4 selector);

    error NotOwner(address caller);
    error OpOutOfGas(uint256 index);

    address public immutable owner;
    IVault public immutable vault;

    constructor(IVault vault_) {
        owner = msg.sender;
        vault = vault_;
    }

    /// @notice Let the vault pull each of `tokens` (the float this keeper repays debts from).
    function approveAll(address[] calldata tokens) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        // forceApprove: a USDT-style token's approve returns nothing, which a plain IERC20 call rejects.
        for (uint256 i; i < tokens.length; ++i) IERC20(tokens[i]).forceApprove(address(vault), type(uint256).max);
    }

    function run(Op[] calldata ops, uint8 liquidatorSubId) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        for (uint256 i; i < ops.length; ++i) {
            Op calldata op = ops[i];
            if (op.settle) {
                try vault.settleBadDebt(op.owner, op.subId) {} catch (bytes memory reason) {
                    _failed(i, reason);
                }
            } else if (op.debtToken == address(0) && op.collToken == address(0)) {
                try vault.absorb(op.owner, op.subId) {} catch (bytes memory reason) {
                    _failed(i, reason);
                }
            } else {
                try vault.liquidate(op.owner, op.subId, op.debtToken, op.collToken, type(uint256).max,
                    liquidatorSubId) {} catch (bytes memory reason) {
                    _failed(i, reason);
                }
            }
        }
    }

    /// @notice Buy up to `payAmount` of `payToken`'s worth of the vault's absorbed `collToken` (from this
    /// keeper's float) into `(this, buyerSubId)`; reverts with the vault's error.
    function buyCollateral(address collToken, address payToken, uint256 payAmount, uint256 minCollateral,
        uint8 buyerSubId) external returns (uint256 paid, uint256 bought) {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        return vault.buyCollateral(collToken, payToken, payAmount, minCollateral, buyerSubId);
    }

    /// @notice Have this keeper call `target` with `data`: a keeper with a balance sheet (scenario `keepers:`)
    /// withdraws the collateral it seized and sells it into a pool through here. Reverts with the callee's
    /// revert data. Emits `Executed`.
    /// @param target the contract called (the vault, a token, the pools' swapper)
    /// @param data the calldata, selector first
    /// @return result what the call returned
    function execute(address target, bytes calldata data) external returns (bytes memory result) {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        bool ok;
        // slither-disable-next-line low-level-calls -- a generic call on the owner's behalf is the point
        (ok, result) = target.call(data);
        if (!ok) {
            // slither-disable-next-line assembly -- bubble the callee's revert data up unchanged
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
        emit Executed(target, bytes4(data[:4]));
    }

    function _failed(uint256 i, bytes memory reason) internal {
        if (reason.length == 0) revert OpOutOfGas(i);
        emit Failed(i, reason);
    }
}
