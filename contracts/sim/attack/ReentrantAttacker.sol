// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ITokenHook, HookToken} from "../hostile/HookToken.sol";

/// @notice The one view of the vault the attacker needs besides the calls it replays.
interface IReentrancyLock {
    function reentrancyLocked() external view returns (bool);
}

/// @title ReentrantAttacker
/// @notice Holds a position in the vault and, when a HookToken calls it mid-transfer, re-enters the vault
/// with one armed call — the Cream AMP / Agave / Hundred pattern (re-enter `borrow` from the receive hook
/// of a borrow) and the Rari/Fei cross-function pattern (withdraw collateral from the payout callback).
/// @dev Calls are ABI-encoded by the test (`vault.borrow.encode_input(...)`), so one contract covers every
/// entry point. By default a failed re-entry is caught and recorded, so the test can read which error the
/// vault raised while the outer call completes; with `bubble` the failure reverts the outer call instead.
contract ReentrantAttacker is ITokenHook {
    error NotOwner(address caller);

    address public immutable owner;
    address public immutable vault;

    /// @notice The armed re-entry: `reentryData` sent to the vault on the next hook, then disarmed.
    bytes public reentryData;
    bool public armed;
    bool public bubble;

    /// @notice What the last re-entry did.
    uint256 public reentryAttempts;
    bool public lastReentrySucceeded;
    bytes public lastReentryRevertData;
    bool public lockHeldDuringHook;

    constructor(address vault_) {
        owner = msg.sender;
        vault = vault_;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Receive HookToken callbacks for this contract's transfers.
    function register(HookToken token) external onlyOwner {
        token.setHook(address(this));
    }

    function approve(IERC20 token, address spender, uint256 amount) external onlyOwner {
        token.approve(spender, amount);
    }

    /// @notice Re-enter the vault with `data` on the next hook; `bubble_` lets the re-entry's revert abort
    /// the outer call.
    function arm(bytes calldata data, bool bubble_) external onlyOwner {
        reentryData = data;
        armed = true;
        bubble = bubble_;
    }

    function disarm() external onlyOwner {
        armed = false;
    }

    /// @notice Make an outer call (to the vault or a token) as this contract; reverts bubble up unchanged.
    function execute(address target, bytes calldata data) external onlyOwner returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    function tokensToSend(address, address, address, uint256) external override {
        _reenter();
    }

    function tokensReceived(address, address, address, uint256) external override {
        _reenter();
    }

    function _reenter() private {
        if (!armed) return;
        armed = false; // once per arm: the re-entry's own transfers must not recurse
        reentryAttempts += 1;
        lockHeldDuringHook = IReentrancyLock(vault).reentrancyLocked();
        (bool ok, bytes memory ret) = vault.call(reentryData);
        lastReentrySucceeded = ok;
        lastReentryRevertData = ret;
        if (!ok && bubble) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }
}
