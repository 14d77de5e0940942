// SPDX-License-Identifier: GPL-2.0-or-later
pragma solidity 0.8.19;

import {IMorpho, MarketParams} from "@morpho-org/morpho-blue/src/interfaces/IMorpho.sol";

/// @dev The one ERC-20 function the keeper calls itself (Morpho's own IERC20 is empty on purpose, and
/// OpenZeppelin 5's needs solc >= 0.8.20).
interface IERC20Approve {
    /// @notice Let `spender` pull up to `value` of the caller's tokens.
    function approve(address spender, uint256 value) external returns (bool);
}

/// @title MorphoKeeper
/// @notice The simulator's liquidation bot for Morpho Blue (the counterpart of contracts/sim/SimKeeper.sol): runs
/// one keeper round of liquidations in one transaction, in order. A liquidation Morpho rejects is reported
/// (`Failed`) and the rest go on; a failure without revert data (out of gas) reverts everything, so a too-low gas
/// limit can never pass for a Morpho decision. It repays from the loan tokens it holds and keeps the collateral it
/// seizes. Simulation only.
contract MorphoKeeper {
    /// @notice One liquidation: exactly one of `seizedAssets` and `repaidShares` is non-zero (Morpho's two input
    /// modes; Morpho rejects any other combination, which is then reported as `Failed`).
    struct Op {
        MarketParams marketParams;
        address borrower;
        uint256 seizedAssets;
        uint256 repaidShares;
    }

    /// @notice Op `index` reverted with `reason` (Morpho's revert data: `Error(string)` for its require messages).
    event Failed(uint256 indexed index, bytes reason);

    /// @notice Only the deployer may run rounds and approve tokens.
    error NotOwner(address caller);
    /// @notice Op `index` failed without revert data: out of gas, not a Morpho decision.
    error OpOutOfGas(uint256 index);
    /// @notice `token` refused the approval of Morpho, even after a reset to 0.
    error ApproveFailed(address token);

    /// @notice The deployer: the only caller of `approveAll` and `run`.
    address public immutable owner;
    /// @notice The Morpho Blue instance liquidated on.
    IMorpho public immutable morpho;

    /// @param morpho_ The Morpho Blue instance to liquidate on.
    constructor(IMorpho morpho_) {
        owner = msg.sender;
        morpho = morpho_;
    }

    /// @notice Let Morpho pull each of `tokens` (the float this keeper repays debts from) without limit.
    /// @dev Works with tokens whose `approve` returns nothing (USDT-style) and with tokens that refuse to change a
    /// non-zero allowance (reset to 0 first), as OpenZeppelin's `forceApprove` does.
    function approveAll(address[] calldata tokens) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        for (uint256 i; i < tokens.length; ++i) {
            if (!_approve(tokens[i], type(uint256).max)) {
                if (!_approve(tokens[i], 0) || !_approve(tokens[i], type(uint256).max)) revert ApproveFailed(tokens[i]);
            }
        }
    }

    /// @notice Run `ops` in order: `morpho.liquidate(marketParams, borrower, seizedAssets, repaidShares, "")` each,
    /// emitting `Failed(index, reason)` for each that reverts.
    function run(Op[] calldata ops) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        for (uint256 i; i < ops.length; ++i) {
            Op calldata op = ops[i];
            try morpho.liquidate(op.marketParams, op.borrower, op.seizedAssets, op.repaidShares, "") returns (
                uint256, uint256
            ) {} catch (bytes memory reason) {
                if (reason.length == 0) revert OpOutOfGas(i);
                emit Failed(i, reason);
            }
        }
    }

    /// @dev `token.approve(morpho, amount)`, true if it did not revert and returned nothing or true.
    function _approve(address token, uint256 amount) internal returns (bool) {
        if (token.code.length == 0) return false; // a call to no code "succeeds" with no answer
        (bool ok, bytes memory answer) = token.call(abi.encodeCall(IERC20Approve.approve, (address(morpho), amount)));
        return ok && (answer.length == 0 || abi.decode(answer, (bool)));
    }
}
