"""The small typed records the mesh overlay passes between its modules (``mesh_context.py`` re-exports them)."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Match", "PeerCert", "SetBy", "Setting"]


class Match(NamedTuple):
    """The node a document names, and how it names it (``selector app: orders-api``)."""

    node: str
    how: str


class PeerCert(NamedTuple):
    """Whether the connection into a hop carries a peer certificate XFCC can pass on, and why."""

    present: bool
    why: str


class Setting(NamedTuple):
    """An XFCC mode and the document that set it (meshConfig gatewayTopology)."""

    mode: str
    element: str


class SetBy(NamedTuple):
    """The value a document gave a node field."""

    value: object
    element: str
