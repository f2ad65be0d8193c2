"""Daily contract-life work: renewals, then reminders."""

from __future__ import annotations

from celery import shared_task


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def contract_life_daily() -> dict[str, int]:
    """Renew the agreements due (rule 20) and raise the reminders due. Idempotent."""
    from agreements.models import Agreement
    from contracts.reminders import send_reminders
    from contracts.services import renew_if_due

    renewed = 0
    for agreement in Agreement.objects.filter(
        auto_renew_months__isnull=False, effective_to__isnull=False
    ):
        renewed += renew_if_due(agreement=agreement) is not None
    return {"renewed": renewed, "reminders": len(send_reminders())}


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def send_monthly_report(period_id: int) -> bool:
    """Email a closed period's statement to its recipients, once per revision."""
    from contracts.reports import report_send

    return report_send(period_id=period_id) is not None
