from django.dispatch import Signal

# Sent after a batch of measurements is committed, with kind (probes, events, tickets,
# incidents, maintenance), service_ids, customer_ids, first and last (UTC instants).
# The credits layer listens to schedule a recompute of the agreements concerned.
measurements_received = Signal()
