"""Demo customers, users and agreements (idempotent: running it again changes nothing)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from agreements.document import load_document
from agreements.models import Agreement, Customer, Membership
from agreements.services import agreement_import
from notifications.services.events import backfill

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"
DEMO_PASSWORD = "demo-portal-2026"
USERS = [
    # username, customer key, role, staff
    ("admin", None, None, True),
    ("acme-manager", "acme", Membership.Role.MANAGER, False),
    ("acme-viewer", "acme", Membership.Role.VIEWER, False),
    ("globex-manager", "globex", Membership.Role.MANAGER, False),
    ("marketing-lead", "internal-marketing", Membership.Role.MANAGER, False),
]


def demo_start(today: dt.date) -> dt.date:
    """Agreements start on the first day of the month three months back."""
    index = today.year * 12 + today.month - 1 - 3
    return dt.date(index // 12, index % 12 + 1, 1)


class Command(BaseCommand):
    help = "Load demo customers, users, agreements and measurements (idempotent)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="do not print the logins")

    def handle(self, *args: Any, quiet_logins: bool = False, **options: Any) -> None:
        # Three months of history arrive at once: its events are kept, not emailed.
        with backfill(), transaction.atomic():
            self._load(quiet_logins=quiet_logins)

    def _load(self, *, quiet_logins: bool) -> None:
        start = demo_start(timezone.now().date())
        created = 0
        for path in sorted(DEMO_DIR.glob("*.yaml")):
            data = load_document(path.read_text(encoding="utf-8"))
            if Agreement.objects.filter(key=data["agreement"]).exists():
                continue
            data["effective_from"] = start.isoformat()
            agreement_import(data=data, actor="seed_demo")
            created += 1
        self._users()
        self.extend_demo(start)
        self.stdout.write(f"Demo data ready ({created} agreement(s) created).")
        if not quiet_logins:
            self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
            for username, customer, role, staff in USERS:
                what = "staff, admin" if staff else f"{role} of {customer}"
                self.stdout.write(f"  {username:16} {what}")

    def _users(self) -> None:
        User = get_user_model()
        for username, customer_key, role, staff in USERS:
            user, made = User.objects.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            if made or not user.check_password(DEMO_PASSWORD):
                user.set_password(DEMO_PASSWORD)
            user.is_staff = user.is_superuser = staff
            user.save()
            if customer_key:
                customer = Customer.objects.get(key=customer_key)
                Membership.objects.update_or_create(
                    user=user, customer=customer, defaults={"role": str(role)}
                )

    def extend_demo(self, start: dt.date) -> None:
        from contracts.demo import load_contract_life
        from credits.closing import close_due_periods
        from credits.recompute import recompute_agreement
        from portal.demo_data import load_measurements

        load_measurements(timezone.now(), out=self.stdout)
        load_contract_life(timezone.now())
        # Past months close (their credits enter the ledger or become claimable) and the
        # current month is evaluated, so every page has figures at once.
        self._say("Closing the past months and entering their credits...")
        close_due_periods()
        self._say("Computing this month's figures...")
        for agreement_id in Agreement.objects.values_list("id", flat=True):
            recompute_agreement(agreement_id=agreement_id)

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
