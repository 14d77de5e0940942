// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IOracleRouter} from "../../../interfaces/IOracleRouter.sol";
import {IVault} from "../../../interfaces/IVault.sol";
import {SpotPool} from "./SpotPool.sol";

/// @title OracleAttacker
/// @notice Replays the price-manipulation attacks of bZx (Feb 2020) and Inverse Finance (Apr 2022) against the
/// vault: move a pool's price with a large trade, then borrow against collateral as if the pool's price were the
/// price. Every observation (pool spot, router price, the vault's collateral value) and every borrow attempt
/// is emitted, so a test can show what moved and what the vault refused. Simulation only.
/// @dev Sub-account 0 of this contract holds the collateral. A failed borrow is caught and reported, so one
/// transaction can try several sizes and still unwind its trade.
contract OracleAttacker {
    using SafeERC20 for IERC20;

    address public immutable owner;
    IVault public immutable vault;
    IOracleRouter public immutable router;
    SpotPool public immutable pool;

    /// @notice What the attacker sees of `collateral`: the pool's spot (token1 per token0, raw units, WAD),
    /// the router's price (USD WAD, 0 if it reverted: `priceError`) and its sub-account's collateral value.
    event Observation(
        address indexed collateral, uint256 spot, uint256 routerPrice, bytes priceError, uint256 collateralValue
    );
    /// @notice A borrow of `amount` of `token` succeeded (`ok`) or reverted with `revertData`.
    event BorrowAttempt(address indexed token, uint256 amount, bool ok, bytes revertData);

    /// @notice Only the deployer may act.
    error NotOwner(address caller);

    constructor(IVault vault_, IOracleRouter router_, SpotPool pool_) {
        owner = msg.sender;
        vault = vault_;
        router = router_;
        pool = pool_;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Let the vault and the pool pull any amount of `tokens` from this contract.
    function approveAll(IERC20[] calldata tokens) external onlyOwner {
        for (uint256 i; i < tokens.length; ++i) {
            tokens[i].forceApprove(address(vault), type(uint256).max);
            tokens[i].forceApprove(address(pool), type(uint256).max);
        }
    }

    /// @notice Deposit `amount` of `token` into this contract's sub-account 0.
    function depositCollateral(IERC20 token, uint256 amount) external onlyOwner {
        vault.deposit(address(this), 0, address(token), amount);
    }

    /// @notice Sell `amountIn` of `tokenIn` into the pool.
    function trade(IERC20 tokenIn, uint256 amountIn) external onlyOwner returns (uint256) {
        return pool.swap(tokenIn, amountIn, 0, address(this));
    }

    /// @notice Emit an Observation of `collateral` now.
    function observe(IERC20 collateral) external onlyOwner {
        _observe(collateral);
    }

    /// @notice Try to borrow `amount` of `token` into this contract; the outcome is emitted, never reverted.
    function tryBorrow(IERC20 token, uint256 amount) external onlyOwner returns (bool) {
        return _tryBorrow(token, amount);
    }

    /// @notice bZx in one transaction: observe, buy `collateral` with `pumpAmount` of `quote` (its spot rises),
    /// observe, try a borrow sized for the pumped spot and one sized for the feed, sell the bought collateral
    /// back, observe.
    function pumpAndBorrow(
        IERC20 collateral,
        IERC20 quote,
        uint256 pumpAmount,
        uint256 spotSizedBorrow,
        uint256 feedSizedBorrow
    ) external onlyOwner {
        _observe(collateral);
        uint256 bought = pool.swap(quote, pumpAmount, 0, address(this));
        _observe(collateral);
        _tryBorrow(quote, spotSizedBorrow);
        _tryBorrow(quote, feedSizedBorrow);
        pool.swap(collateral, bought, 0, address(this));
        _observe(collateral);
    }

    function _tryBorrow(IERC20 token, uint256 amount) internal returns (bool ok) {
        try vault.borrow(0, address(token), amount, address(this)) {
            ok = true;
            emit BorrowAttempt(address(token), amount, true, "");
        } catch (bytes memory reason) {
            emit BorrowAttempt(address(token), amount, false, reason);
        }
    }

    function _observe(IERC20 collateral) internal {
        uint256 price;
        bytes memory priceError;
        try router.price(address(collateral)) returns (uint256 p) {
            price = p;
        } catch (bytes memory reason) {
            priceError = reason;
        }
        uint256 value;
        try vault.accountState(address(this), 0) returns (IVault.AccountState memory s) {
            value = s.collateralValue;
        } catch {
            value = 0; // unpriceable (a bad round): the router's error above says why
        }
        emit Observation(address(collateral), pool.spotPrice0(), price, priceError, value);
    }
}
