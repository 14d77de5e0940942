// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IVault} from "../../interfaces/IVault.sol";

/// @notice The few functions of a Uniswap v2 pair a flash liquidation uses.
interface IFlashPair {
    function token0() external view returns (address);
    function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
}

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

    /// @notice A liquidation funded by a flash swap from `pair`: `repaid` of the debt token borrowed from it,
    /// paid back with `paidBack` of the seized collateral; what is left of the seizure stays here.
    event FlashLiquidated(address indexed pair, address indexed owner, uint8 subId, uint256 repaid,
                          uint256 paidBack);

    error NotOwner(address caller);
    error OpOutOfGas(uint256 index);
    /// @notice `uniswapV2Call` from anyone but the pair of a flash liquidation this keeper started.
    error NotFlashPair(address caller);
    /// @notice The seizure does not cover what the pair must be paid back.
    error FlashNotCovered(uint256 seized, uint256 owed);

    /// @dev the pair of the flash liquidation in progress (zero otherwise)
    address private flashPair;

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

    /// @notice Liquidate `owner`'s sub-account `subId` with `repay` of `debtToken` borrowed from `pair` by a flash
    /// swap: the pair sends it, `uniswapV2Call` liquidates, withdraws the seized `collToken` and pays the pair
    /// back in it (Uniswap v2's getAmountIn on the reserves before the swap). Emits `FlashLiquidated`; reverts with
    /// the vault's error, or FlashNotCovered.
    /// @param pair a Uniswap v2 pair of `debtToken` and `collToken`
    /// @param owner_ the liquidated account's owner
    /// @param subId its sub-account
    /// @param debtToken the debt repaid
    /// @param collToken the collateral seized
    /// @param repay the debt token borrowed from the pair and offered to the vault
    /// @param liquidatorSubId this keeper's sub-account the vault credits the seizure to
    function flashLiquidate(address pair, address owner_, uint8 subId, address debtToken, address collToken,
        uint256 repay, uint8 liquidatorSubId) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        flashPair = pair;
        bool debtIs0 = IFlashPair(pair).token0() == debtToken;
        IFlashPair(pair).swap(debtIs0 ? repay : 0, debtIs0 ? 0 : repay, address(this),
            abi.encode(owner_, subId, debtToken, collToken, repay, liquidatorSubId));
        flashPair = address(0);
    }

    /// @notice Uniswap v2's flash-swap callback: only during `flashLiquidate`, only from its pair.
    /// @param sender who called the pair's swap (this keeper)
    /// @param data the liquidation `flashLiquidate` encoded
    function uniswapV2Call(address sender, uint256, uint256, bytes calldata data) external {
        if (msg.sender != flashPair || flashPair == address(0) || sender != address(this)) {
            revert NotFlashPair(msg.sender);
        }
        (address owner_, uint8 subId, address debtToken, address collToken, uint256 repay, uint8 liquidatorSubId) =
            abi.decode(data, (address, uint8, address, address, uint256, uint8));
        vault.liquidate(owner_, subId, debtToken, collToken, repay, liquidatorSubId);
        uint256 seized = vault.withdraw(liquidatorSubId, collToken, type(uint256).max, address(this));
        (uint112 r0, uint112 r1,) = IFlashPair(msg.sender).getReserves();
        (uint256 reserveColl, uint256 reserveDebt) =
            IFlashPair(msg.sender).token0() == debtToken ? (uint256(r1), uint256(r0)) : (uint256(r0), uint256(r1));
        uint256 owed = (reserveColl * repay * 1000) / ((reserveDebt - repay) * 997) + 1;
        if (owed > IERC20(collToken).balanceOf(address(this))) revert FlashNotCovered(seized, owed);
        IERC20(collToken).safeTransfer(msg.sender, owed);
        emit FlashLiquidated(msg.sender, owner_, subId, repay, owed);
    }

    function _failed(uint256 i, bytes memory reason) internal {
        if (reason.length == 0) revert OpOutOfGas(i);
        emit Failed(i, reason);
    }
}
