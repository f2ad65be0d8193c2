from django.apps import AppConfig


class ContractsConfig(AppConfig):
    """The contract's life (SPEC §3 rule 20): amendments, notice, renewal, reminders."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "contracts"

    def ready(self) -> None:
        from contracts import receivers  # noqa: F401 (connects the monthly report)
