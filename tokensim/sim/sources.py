"""The leak processes of a model, read off its nodes once: where, which vector, at what rate, over which victims."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tokensim.model.schema import Broker, Client, Issuer, KeyStorage, Leak, Position
from tokensim.model.validate import position_of

__all__ = ["LeakSource", "leak_source"]


@dataclass(frozen=True)
class LeakSource:
    """One leak process of the model: where, which vector, at what rate, over which victims, handled how."""

    node: str
    index: int  # position in the node's `leaks` (names its random streams)
    leak: Leak
    units: int  # instances (or hosts) a leak picks its victim from
    handler: Literal["signing_key", "client", "broker_host", "log"]
    instances: int  # a client's population (victims: every `stride`-th instance from the one picked)
    stride: int  # hosts for a host compromise (every instance on the host), else the population: one victim
    retention: float | None  # a logging node's retention
    key_storage: KeyStorage  # where a broker's host keeps its key
    intermittent: bool = False  # a client leak whose victims are not always active (activity is drawn)
    position: Position = "outside"  # where its thief replays from (`validate.position_of`)


def leak_source(name: str, index: int, node: object, leak: Leak) -> LeakSource:
    """How one leak process of a node is handled, read off the node once."""
    if isinstance(node, Issuer):
        return LeakSource(name, index, leak, 1, "signing_key", 1, 1, None, "none")
    if isinstance(node, Client):
        hosts = node.hosts or node.instances
        host = leak.vector == "host_compromise"
        return LeakSource(
            name,
            index,
            leak,
            hosts if host else node.instances,
            "client",
            node.instances,
            hosts if host else node.instances,
            None,
            node.key_storage,
            intermittent=node.active_fraction < 1.0,
            position=position_of(node, leak),
        )
    if isinstance(node, Broker) and leak.vector == "host_compromise":
        return LeakSource(
            name, index, leak, 1, "broker_host", 1, 1, None, node.key_storage, position=position_of(node, leak)
        )
    retention: float = node.log_retention  # type: ignore[attr-defined]  # intermediaries, meshes, brokers, resources
    return LeakSource(name, index, leak, 1, "log", 1, 1, retention, "none")
