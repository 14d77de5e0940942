"""``make bench``: replay throughput, mining modes, cascades and sweep speed-up on Ganache, Anvil and revm (the EVM
in process, ``--chain revm``), in one run.

Replay throughput: a generated book of N borrowers x S steps (prices move +-1 % a step, nobody becomes
liquidatable, keeper on), auto mining. Measured: the step loop only (deploy and set-up are reported separately),
as account-steps per second, seconds per step, JSON-RPC calls and HTTP round trips per step (counted by the
provider; a batch request is one round trip and one call per request in it) and blocks per step. Baseline, in
the same run on the same chain: the naive loop (the price transaction, then one ``accountState`` call per
account; fewer steps at large N, it is linear).

Reads: every replay row is measured with ``--reads mirror`` and with ``--reads chain`` (the vault's batch view
every keeper round); Ganache's chain-read rows run fewer steps, and skip N=2000 (CHAIN_READ_SKIP). Mining,
cascade and action rows use mirror reads.

Mining modes: the same throughput book at N=500, and an action-heavy book (every step, 50 accounts each send a
borrow), each under ``auto`` and ``per-step`` mining; baseline ``auto``. The per-step timeline must be
byte-identical to the auto one (checked on the first repetition).

Cascade: scenarios/cascade-50.yaml (50 borrowers, a 40 % crash in ten steps) and the same book with 1,000
borrowers: whole-replay wall time and liquidations per second of the step loop; its baseline is cascade-50.

Sweep: ``marginlab sweep`` of a small scenario over seeds on the local process pool with 1 and 2 workers, on Anvil
and on revm (each worker sets up once and replays every seed from a snapshot; more seeds on revm); speed-up = wall
time with 1 worker / wall time with 2; the peak RSS of one worker process.

Every figure is the median of REPS repetitions, except where REDUCED_REPS says otherwise (the row says so).
``BENCH_QUICK=1`` runs fewer sizes, steps and repetitions (development only; the figures are not comparable).
``python -m marginlab.bench --parts replay,mining --chains anvil`` runs a subset (``make bench BENCH_ARGS=...``).
Progress goes to stderr; the table to stdout and, with the figures, to ``bench/results.json``.
"""

