"""Writes of the notifications layer, one module per concern.

- ``events``: ``record_event``, which stores an event at most once and queues what
  follows from it (digest email, webhook deliveries);
- ``credit_events``: events of the credits layer (objective status, period closed,
  credit issued, claims), which also start and resolve breach escalations;
- ``metric_events``: events of the metrics layer (incidents, maintenance windows), which
  also start and resolve outage escalations;
- ``escalation``: escalations (start, advance, resolve, acknowledge) and their email;
- ``digests``: queued email items, the digests that send them, and preferences;
- ``webhook_deliveries``: webhook endpoints and the delivery of events to them;
- ``payloads``: JSON values, links and the webhook body shared by the others.

Slow work (sending, HTTP) happens in ``notifications.tasks``, enqueued after commit. The
services import those task objects; the tasks import the services when they run.
"""
