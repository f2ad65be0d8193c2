from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "credits"
    verbose_name = "Compliance and credits"

    def ready(self) -> None:
        from credits import receivers  # noqa: F401 (connects the signal receivers)
