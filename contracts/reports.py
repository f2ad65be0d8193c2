"""The monthly report (SPEC §2 ``reports``): at each close, the statement PDF goes to the
document's ``reports`` recipients and to the members who opted in, with the figures in
the body of the email, worded as on every page (rule 19)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from agreements import display
from agreements.models import Membership
from contracts.models import ReportDelivery
from credits.models import Period
from credits.statements import Statement, statement_of
from notifications.models import EventType, Preference
from portal.statements import statement_pdf


def report_recipients(period: Period) -> list[str]:
    """The ``reports`` addresses of the agreement, then the emails of its customer's
    members who chose ``report.monthly`` in their notification settings; each once."""
    agreement = period.agreement
    addresses = [r["to"] for r in agreement.reports or [] if r.get("to")]
    members = set(
        Membership.objects.filter(customer_id=agreement.customer_id).values_list(
            "user_id", flat=True
        )
    )
    for pref in Preference.objects.filter(agreement=agreement, user_id__in=members).select_related(
        "user"
    ):
        if EventType.MONTHLY_REPORT in pref.events and pref.user.email:
            addresses.append(pref.user.email)
    return list(dict.fromkeys(addresses))


def report_body(statement: Statement) -> str:
    """The figures of the statement in words, one line per objective, then the credit."""
    lines = [
        f"Monthly statement of {statement.agreement_name} for {statement.period}.",
        "",
    ]
    for o in statement.objectives:
        lines.append(
            f"- {o.key}: {display.percent(o.achieved, o.target)} against "
            f"{display.plain(o.target)}% ({o.status}); credit {display.plain(o.credit_percent)}%"
        )
    lines += [
        "",
        f"Credit for the period: {display.money(statement.credit_total)} {statement.currency}.",
        "The statement is attached as a PDF.",
    ]
    return "\n".join(lines)


@transaction.atomic
def report_send(
    *, period_id: int, actor: str = "close", force: bool = False
) -> ReportDelivery | None:
    """Email the statement of closed period ``period_id`` to its recipients; None when
    there is nobody to send it to, the period is not closed, or (unless ``force``, the
    admin's resend) this revision was already sent."""
    period = Period.objects.select_related("agreement").select_for_update().get(pk=period_id)
    if not period.is_closed:
        return None
    if (
        not force
        and ReportDelivery.objects.filter(period=period, revision=period.revision).exists()
    ):
        return None
    recipients = report_recipients(period)
    statement = statement_of(period.agreement, period.period)
    if not recipients or statement is None:
        return None
    message = EmailMessage(
        subject=f"[SLA Portal] {statement.agreement_name}: statement {statement.period}"[:200],
        body=report_body(statement),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach(
        f"{period.agreement.key}-{period.period}.pdf", statement_pdf(statement), "application/pdf"
    )
    message.send()
    return ReportDelivery.objects.create(
        period=period,
        revision=period.revision,
        recipients=recipients,
        sent_at=timezone.now(),
        sent_by=actor,
    )
