from django.dispatch import Signal

# Sent after a batch of measurements is committed, with kind (probes, events, tickets,
# incidents, maintenance), service_ids, customer_ids, first and last (UTC instants).
# The credits layer listens to schedule a recompute of the agreements concerned.
measurements_received = Signal()

# Sent inside the transaction that stores a batch, with ``result`` (an IngestResult):
# whatever must change together with the stored rows listens here.
measurements_stored = Signal()

# Sent after commit for each incident or maintenance window created or changed by a
# batch, with ``instance``, ``created`` and ``changes`` (field -> new value).
incident_changed = Signal()
maintenance_changed = Signal()

# Sent after commit for each new entry of an incident's public timeline (an
# IncidentStatusUpdate), whether a batch or staff in admin added it, with ``instance``.
incident_status_posted = Signal()
