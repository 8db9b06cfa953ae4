"""An independent Python model of steps 2-5 of docs/semantics.md#the-tick-loop for tick 0, which the
LSM property tests compare the engine with (tests/engine/test_engine_lsm.py).

Fifo everywhere, fifo_bypass, the given LSM mode except ``cycles`` and ``t2`` (``t2_classic`` is
modelled: multilateral, then bilateral). Payments are
``(sender, receiver, amount, priority)`` in tx_id order, all arriving at tick 0. Bilateral is modelled
for one pair of banks only (the order of pairs does not matter for one pair).
"""

from __future__ import annotations

Payment = tuple[int, int, int, int]

#: Priority from which a payment joins Queue 2's urgent class (docs/semantics.md#gross-settlement-and-queue-2).
URGENT = 8


class ReferenceTick0:
    """One tick of the model. Two readings the rules leave open (docs/testing.md#readings-the-tests-accept)
    are switches: whether bilateral keeps removing the *original* net payer's payments after the net
    flips (``follow_original_payer``), and whether t2_classic reruns step 4 between its two algorithms
    (``queue_between_algorithms``)."""

    def __init__(
        self,
        opening: list[int],
        credit: list[int],
        payments: list[Payment],
        *,
        follow_original_payer: bool = False,
        queue_between_algorithms: bool = False,
    ) -> None:
        self.bal = list(opening)
        self.credit = credit
        self.payments = payments
        self.via = [""] * len(payments)  # each payment's settled_via; "" = still queued
        self.queue2: list[int] = []
        self.follow_original_payer = follow_original_payer
        self.queue_between_algorithms = queue_between_algorithms

    def run(self, mode: str) -> tuple[list[int], list[str]]:
        """Final balances and each payment's settled_via after steps 2-5 under ``mode``."""
        self.release_and_settle_gross()
        self.process_queue()
        if not self.queue2:
            return self.bal, self.via
        if mode == "multilateral":
            settled = self.multilateral()
        elif mode == "bilateral":
            settled = self.bilateral()
        elif mode == "t2_classic":
            settled = self.multilateral()
            if settled and self.queue_between_algorithms:
                self.process_queue()
            settled = self.bilateral() or settled
        else:
            settled = False
        if settled:
            self.process_queue()
        return self.bal, self.via

    def fits(self, i: int) -> bool:
        sender, _, amount, _ = self.payments[i]
        return self.bal[sender] - amount >= -self.credit[sender]

    def settle(self, i: int, means: str) -> None:
        sender, receiver, amount, _ = self.payments[i]
        self.bal[sender] -= amount
        self.bal[receiver] += amount
        self.via[i] = means

    def release_and_settle_gross(self) -> None:
        """Each sender releases in priority order (ties by tx_id); what cannot settle gross joins Queue 2,
        urgent payments first, join order within a class."""
        release = sorted(range(len(self.payments)), key=lambda i: (self.payments[i][0], -self.payments[i][3], i))
        for i in release:
            if self.fits(i):
                self.settle(i, "rtgs")
            else:
                self.queue2.append(i)
        self.queue2.sort(key=lambda i: 0 if self.payments[i][3] >= URGENT else 1)  # stable sort

    def process_queue(self) -> None:
        """Step 4: repeated passes over Queue 2 until one settles nothing."""
        while True:
            settled_any = False
            for i in list(self.queue2):
                if self.fits(i):
                    self.settle(i, "queue")
                    self.queue2.remove(i)
                    settled_any = True
            if not settled_any:
                return

    def net_of(self, chosen: list[int]) -> list[int]:
        net = [0] * len(self.bal)
        for i in chosen:
            sender, receiver, amount, _ = self.payments[i]
            net[sender] -= amount
            net[receiver] += amount
        return net

    def settle_all(self, chosen: list[int], means: str) -> None:
        for i in chosen:
            self.settle(i, means)
            self.queue2.remove(i)

    def multilateral(self) -> bool:
        """Algorithm 2: take the worst-short bank's last payment out until every net position is covered."""
        remaining = list(self.queue2)
        while remaining:
            net = self.net_of(remaining)
            shortfall = [-self.credit[b] - (self.bal[b] + net[b]) for b in range(len(self.bal))]
            short = [b for b in range(len(self.bal)) if shortfall[b] > 0]
            if not short:
                self.settle_all(remaining, "multilateral")
                return True
            worst = min(short, key=lambda b: (-shortfall[b], b))
            del remaining[max(j for j, i in enumerate(remaining) if self.payments[i][0] == worst)]
        return False

    def bilateral(self) -> bool:
        """Bilateral offsetting of the one pair: take the net payer's last payment out until it is covered."""
        assert len(self.bal) == 2, "the model's bilateral offsetting covers one pair of banks"
        pair = list(self.queue2)
        original_payer = None
        while {self.payments[i][0] for i in pair} == {0, 1}:
            net = self.net_of(pair)
            payer = 0 if net[0] < 0 else 1
            if self.bal[payer] + net[payer] >= -self.credit[payer]:
                self.settle_all(pair, "bilateral")
                return True
            original_payer = payer if original_payer is None else original_payer
            remove = original_payer if self.follow_original_payer else payer
            del pair[max(j for j, i in enumerate(pair) if self.payments[i][0] == remove)]
        return False


def reference_tick0(
    opening: list[int], credit: list[int], payments: list[Payment], mode: str
) -> tuple[list[int], list[str]]:
    """The model's outcome under the engine's readings (docs/semantics.md#implementation-choices)."""
    return ReferenceTick0(opening, credit, payments).run(mode)


def reference_readings(
    opening: list[int], credit: list[int], payments: list[Payment], mode: str
) -> list[tuple[list[int], list[str]]]:
    """Every outcome the rules allow (the switches of ``ReferenceTick0``); the engine must produce one of them."""
    return [
        ReferenceTick0(
            opening, credit, payments, follow_original_payer=follow, queue_between_algorithms=rerun
        ).run(mode)
        for follow in (False, True)
        for rerun in (False, True)
    ]
