from django.apps import AppConfig


class ExecutorConfig(AppConfig):
    name = "executor"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the worker's start and stop
