from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "credits"
    verbose_name = "Compliance and credits"

    def ready(self) -> None:
        from credits import checks, receivers  # noqa: F401 (registers the deploy check, connects the receivers)
