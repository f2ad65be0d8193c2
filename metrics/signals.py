from django.dispatch import Signal

# Sent after a batch of measurements is committed, with kind (probes, events, tickets,
# incidents, maintenance), service_ids, customer_ids, first and last (UTC instants).
# The credits layer listens to schedule a recompute of the agreements concerned.
measurements_received = Signal()

# Sent after commit for each incident or maintenance window created or changed by a
# batch, with ``instance``, ``created`` and ``changes`` (field -> new value).
incident_changed = Signal()
maintenance_changed = Signal()
