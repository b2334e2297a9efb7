from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "disclosure.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        """Fan out from the ledger (each appended event queues its deliveries
        in the appending transaction) and deliver as the outbox's channel
        "webhooks" (core.outbox: the periodic dispatch_outbox runs it)."""
        from disclosure.core import outbox as engine
        from disclosure.ledger import listeners

        from . import delivery, fanout

        listeners.register(fanout.on_events_appended)
        engine.register(engine.Channel("webhooks", delivery.dispatch_due))
