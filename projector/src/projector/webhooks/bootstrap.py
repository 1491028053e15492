"""The webhook part of the projector, wired from settings: registrations, delivery
outcomes, the HTTP sender, the delivery and its consumers (one per partition, in a group
of their own; none when `webhooks.enabled` is off), revealing with the process's key
ring."""

from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from cqrs_contracts.settings import Settings
from cqrs_event_store.privacy.keyring import KeyRing
from projector.application.forgetting import Forgetting
from projector.webhooks.adapters.outcomes import WebhookOutcomes
from projector.webhooks.adapters.registry import WebhookRegistry
from projector.webhooks.adapters.sender import HttpSender
from projector.webhooks.adapters.targets import TargetPolicy
from projector.webhooks.application.delivery import RetryPolicy, WebhookDelivery
from projector.webhooks.entrypoints.consumer import WebhookConsumer, webhook_consumers


@dataclass
class Webhooks:
    registry: WebhookRegistry
    outcomes: WebhookOutcomes
    sender: HttpSender
    delivery: WebhookDelivery
    consumers: list[WebhookConsumer]


def build_webhooks(
    settings: Settings, db: AsyncDatabase[dict[str, Any]], keys: KeyRing
) -> Webhooks:
    cfg = settings.webhooks
    registry, outcomes = WebhookRegistry(db), WebhookOutcomes(db)
    sender = HttpSender(cfg.timeout, TargetPolicy(cfg.allowed_hosts))
    policy = RetryPolicy(max(1, cfg.max_attempts), cfg.retry_base_delay, cfg.retry_max_delay)
    delivery = WebhookDelivery(registry, sender, outcomes, policy)
    forgetting = Forgetting(keys, outcomes)  # a forgotten user's stored deliveries erased
    consumers = webhook_consumers(delivery, forgetting, settings) if cfg.enabled else []
    return Webhooks(registry, outcomes, sender, delivery, consumers)
