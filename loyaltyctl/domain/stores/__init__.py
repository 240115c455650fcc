"""Stores' own formats (`events ingest --format NAME`): one mapper per platform, each in
its own module, registered in `FORMATS`. A mapper reads one payload as the platform
delivers it and gives the events of our own format (`domain.events`) and notes.

To add a platform: a module with a `Mapper` subclass, and its instance in `FORMATS`.
"""

from __future__ import annotations

from loyaltyctl.domain.stores.base import (
    Customer,
    MappedEvent,
    Mapper,
    Mapping,
    PayloadProblem,
)
from loyaltyctl.domain.stores.documents import Payload, read_payloads
from loyaltyctl.domain.stores.shopify import Shopify
from loyaltyctl.domain.stores.stripe import Stripe
from loyaltyctl.domain.stores.woocommerce import WooCommerce

FORMATS: dict[str, Mapper] = {
    mapper.name: mapper for mapper in (Shopify(), WooCommerce(), Stripe())
}
MEMBER_KEYS = ("external_id", "email", "phone")

__all__ = [
    "FORMATS",
    "MEMBER_KEYS",
    "Customer",
    "MappedEvent",
    "Mapper",
    "Mapping",
    "Payload",
    "PayloadProblem",
    "read_payloads",
]
