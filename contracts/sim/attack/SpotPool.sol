// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title SpotPool
/// @notice A constant-product pool of two tokens in the shape of a Uniswap v2 pair: a 0.3 % fee, a spot price
/// that every swap moves, and a cumulative price from which a TWAP over any window is read. It is the kind of
/// source bZx (Feb 2020: the spot, moved in the same transaction) and Inverse Finance (Apr 2022: a TWAP a few
/// blocks long) priced collateral with. Simulation only: the protocol never reads it (tests/integration/
/// test_incidents_oracle.py shows that a trade here moves no price the vault uses).
/// @dev `decimals()` is 18 because a Uniswap v2 pair is its own ERC-20 LP token; the pool issues no shares here
/// (liquidity is added once by the test). Prices are raw token units of token1 per raw unit of token0, WAD.
contract SpotPool {
    using SafeERC20 for IERC20;

    uint256 internal constant WAD = 1e18;
    uint256 internal constant FEE_NUM = 997;
    uint256 internal constant FEE_DEN = 1000;

    /// @notice As a Uniswap v2 pair (an ERC-20 LP token).
    uint8 public constant decimals = 18;

    IERC20 public immutable token0;
    IERC20 public immutable token1;
    uint256 public reserve0;
    uint256 public reserve1;
    /// @notice Σ spot price of token0 (WAD, token1 units per token0 unit) × seconds it held, up to `lastUpdate`.
    uint256 public price0Cumulative;
    uint256 public lastUpdate;

    /// @notice `amountIn` of `tokenIn` bought `amountOut` of the other token for `to`.
    event Swap(address indexed sender, address indexed tokenIn, uint256 amountIn, uint256 amountOut, address to);
    /// @notice The reserves after a change.
    event Sync(uint256 reserve0, uint256 reserve1);

    /// @notice A zero amount in, or a trade that would buy nothing.
    error ZeroAmount();
    /// @notice `token` is neither of the pool's tokens.
    error UnknownToken(address token);
    /// @notice The trade buys `amountOut`, less than the `minOut` asked for.
    error Slippage(uint256 amountOut, uint256 minOut);
    /// @notice The pool has no liquidity to price or trade with.
    error EmptyPool();

    constructor(IERC20 token0_, IERC20 token1_) {
        token0 = token0_;
        token1 = token1_;
        lastUpdate = block.timestamp;
    }

    /// @notice Add `amount0` of token0 and `amount1` of token1 (pulled from the caller) to the reserves.
    function addLiquidity(uint256 amount0, uint256 amount1) external {
        if (amount0 == 0 || amount1 == 0) revert ZeroAmount();
        _accumulate();
        reserve0 += amount0;
        reserve1 += amount1;
        token0.safeTransferFrom(msg.sender, address(this), amount0);
        token1.safeTransferFrom(msg.sender, address(this), amount1);
        emit Sync(reserve0, reserve1);
    }

    /// @notice Sell `amountIn` of `tokenIn` (pulled from the caller) for the other token, sent to `to`.
    function swap(IERC20 tokenIn, uint256 amountIn, uint256 minOut, address to) external returns (uint256 amountOut) {
        if (amountIn == 0) revert ZeroAmount();
        bool zeroForOne = tokenIn == token0;
        if (!zeroForOne && tokenIn != token1) revert UnknownToken(address(tokenIn));
        (uint256 rIn, uint256 rOut) = zeroForOne ? (reserve0, reserve1) : (reserve1, reserve0);
        amountOut = getAmountOut(amountIn, rIn, rOut);
        if (amountOut == 0) revert ZeroAmount();
        if (amountOut < minOut) revert Slippage(amountOut, minOut);
        _accumulate();
        if (zeroForOne) {
            reserve0 = rIn + amountIn;
            reserve1 = rOut - amountOut;
        } else {
            reserve1 = rIn + amountIn;
            reserve0 = rOut - amountOut;
        }
        tokenIn.safeTransferFrom(msg.sender, address(this), amountIn);
        (zeroForOne ? token1 : token0).safeTransfer(to, amountOut);
        emit Swap(msg.sender, address(tokenIn), amountIn, amountOut, to);
        emit Sync(reserve0, reserve1);
    }

    /// @notice Output of selling `amountIn` into reserves `rIn` / `rOut`, after the 0.3 % fee (Uniswap v2).
    function getAmountOut(uint256 amountIn, uint256 rIn, uint256 rOut) public pure returns (uint256) {
        if (rIn == 0 || rOut == 0) revert EmptyPool();
        uint256 inWithFee = amountIn * FEE_NUM;
        return inWithFee * rOut / (rIn * FEE_DEN + inWithFee);
    }

    /// @notice Spot price of token0 in token1 (raw units per raw unit, WAD): what one swap moves.
    function spotPrice0() public view returns (uint256) {
        if (reserve0 == 0) revert EmptyPool();
        return reserve1 * WAD / reserve0;
    }

    /// @notice The cumulative price as of this block (Uniswap v2's `currentCumulativePrices`).
    function currentCumulative0() external view returns (uint256 cumulative, uint256 timestamp) {
        cumulative = price0Cumulative;
        if (block.timestamp > lastUpdate && reserve0 != 0) {
            cumulative += spotPrice0() * (block.timestamp - lastUpdate);
        }
        return (cumulative, block.timestamp);
    }

    function _accumulate() internal {
        if (block.timestamp > lastUpdate && reserve0 != 0) {
            price0Cumulative += spotPrice0() * (block.timestamp - lastUpdate);
        }
        lastUpdate = block.timestamp;
    }
}
