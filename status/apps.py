from django.apps import AppConfig


class StatusConfig(AppConfig):
    name = "status"
    verbose_name = "Public status page"

    def ready(self) -> None:
        from status import receivers  # noqa: F401 (connects the signal receivers)
