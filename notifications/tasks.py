from celery import shared_task


@shared_task
def escalate() -> int:
    """Placeholder until escalation lands: nothing to escalate."""
    return 0
