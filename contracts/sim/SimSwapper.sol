// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @notice The few functions of a Uniswap v2 pair (npm @uniswap/v2-core 1.0.1) the simulator uses.
interface IV2Pair {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
    function burn(address to) external returns (uint256 amount0, uint256 amount1);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @title SimSwapper
/// @notice The simulator's helper for its Uniswap v2 pools (scenario `pools:`): it quotes swaps on the pair's
/// reserves with Uniswap v2's own formulas (0.3 % fee), swaps atomically (transfer into the pair, then `swap`),
/// and withdraws a share of an LP's liquidity (transfer of LP tokens into the pair, then `burn`). The pair itself
/// is Uniswap's, unchanged. Simulation only; never part of the protocol.
contract SimSwapper {
    using SafeERC20 for IERC20;

    /// @notice `trader` sold `amountIn` of `tokenIn` into `pair` for `amountOut` of the other token, sent to `to`.
    event Swapped(address indexed pair, address indexed trader, address tokenIn, uint256 amountIn,
                  uint256 amountOut, address to);
    /// @notice `provider` burnt `liquidity` LP tokens of `pair`, receiving `amount0` and `amount1`.
    event Withdrawn(address indexed pair, address indexed provider, uint256 liquidity, uint256 amount0,
                    uint256 amount1);

    /// @notice The token is neither of the pair's two.
    error NotInPair(address pair, address token);
    /// @notice A swap would pay out less than the caller's minimum.
    error TooLittleOut(uint256 amountOut, uint256 minOut);
    /// @notice A zero amount, or a pair with an empty reserve.
    error NothingToSwap();

    /// @notice Uniswap v2's getAmountOut: what `amountIn` of `tokenIn` buys from `pair` now (0.3 % fee).
    /// @param pair a Uniswap v2 pair
    /// @param tokenIn one of its two tokens
    /// @param amountIn the amount sold, in token units
    /// @return amountOut the amount of the other token bought, rounded down (in the pool's favour)
    function quote(address pair, address tokenIn, uint256 amountIn) public view returns (uint256 amountOut) {
        (uint256 reserveIn, uint256 reserveOut,) = _reserves(pair, tokenIn);
        if (amountIn == 0 || reserveIn == 0 || reserveOut == 0) return 0;
        uint256 inWithFee = amountIn * 997;
        amountOut = (inWithFee * reserveOut) / (reserveIn * 1000 + inWithFee);
    }

    /// @notice Uniswap v2's getAmountIn: what must be sold of `tokenIn` to buy `amountOut` of the other token.
    /// @param pair a Uniswap v2 pair
    /// @param tokenIn one of its two tokens (the one paid)
    /// @param amountOut the amount bought, in units of the other token; must be below its reserve
    /// @return amountIn the amount of `tokenIn` to sell, rounded up (in the pool's favour); uint256 max if the
    /// pool cannot pay `amountOut`
    function quoteIn(address pair, address tokenIn, uint256 amountOut) external view returns (uint256 amountIn) {
        (uint256 reserveIn, uint256 reserveOut,) = _reserves(pair, tokenIn);
        if (amountOut == 0) return 0;
        if (amountOut >= reserveOut || reserveIn == 0) return type(uint256).max;
        amountIn = (reserveIn * amountOut * 1000) / ((reserveOut - amountOut) * 997) + 1;
    }

    /// @notice Sell `amountIn` of `tokenIn` (pulled from the caller, who approved this contract) into `pair`,
    /// sending what it buys to `to`. Emits `Swapped`.
    /// @param pair a Uniswap v2 pair
    /// @param tokenIn one of its two tokens
    /// @param amountIn the amount sold
    /// @param minOut the least the caller accepts; less reverts with TooLittleOut
    /// @param to who receives the bought token
    /// @return amountOut the amount bought
    function swap(address pair, address tokenIn, uint256 amountIn, uint256 minOut, address to)
        external
        returns (uint256 amountOut)
    {
        (,, bool inIs0) = _reserves(pair, tokenIn);
        amountOut = quote(pair, tokenIn, amountIn);
        if (amountOut == 0) revert NothingToSwap();
        if (amountOut < minOut) revert TooLittleOut(amountOut, minOut);
        IERC20(tokenIn).safeTransferFrom(msg.sender, pair, amountIn);
        (uint256 out0, uint256 out1) = inIs0 ? (uint256(0), amountOut) : (amountOut, uint256(0));
        IV2Pair(pair).swap(out0, out1, to, new bytes(0));
        emit Swapped(pair, msg.sender, tokenIn, amountIn, amountOut, to);
    }

    /// @notice Burn `liquidity` of the caller's LP tokens of `pair` (approved to this contract); the two tokens
    /// go to the caller. Emits `Withdrawn`.
    /// @param pair a Uniswap v2 pair
    /// @param liquidity the LP tokens to burn
    /// @return amount0 token0 received
    /// @return amount1 token1 received
    function withdraw(address pair, uint256 liquidity) external returns (uint256 amount0, uint256 amount1) {
        if (liquidity == 0) revert NothingToSwap();
        IERC20(pair).safeTransferFrom(msg.sender, pair, liquidity);
        (amount0, amount1) = IV2Pair(pair).burn(msg.sender);
        emit Withdrawn(pair, msg.sender, liquidity, amount0, amount1);
    }

    /// @dev The pair's reserves as (in, out) for `tokenIn`, and whether `tokenIn` is token0.
    function _reserves(address pair, address tokenIn) private view returns (uint256, uint256, bool) {
        (uint112 r0, uint112 r1,) = IV2Pair(pair).getReserves();
        if (tokenIn == IV2Pair(pair).token0()) return (r0, r1, true);
        if (tokenIn == IV2Pair(pair).token1()) return (r1, r0, false);
        revert NotInPair(pair, tokenIn);
    }
}
