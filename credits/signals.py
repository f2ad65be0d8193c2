"""Signals of the credits layer, for notifications below it (sent after commit).

- objective_status_changed(agreement, period, objective_key, previous, current, at):
  an open period's objective moved between met / at_risk / breached / no_data
  (previous is None the first time it is evaluated).
- period_closed(period, at): a period was closed, its credit fixed.
- credit_entered(entry): a ``credit`` (or ``reversal``) entry reached the ledger.
- claim_changed(claim, at): a claim became claimable, claimed, approved, rejected, expired.
"""

from django.dispatch import Signal

objective_status_changed = Signal()
period_closed = Signal()
credit_entered = Signal()
claim_changed = Signal()
