"""Pydantic schema of model files (MODEL.md sections 1, 4, 5 and 7); the nodes and leaks are in ``nodes.py``.

This module is data only: it says which fields exist, their units, defaults and
bounds, and each field's ``description`` (what `tokensim schema` shows an editor). Cross-field rules (which leak vector fits which node, edge ends) live in
``validate.py``; turning the validated file into a graph lives in ``architecture.py``.
Durations are stored in hours and rates per hour (see ``units.py``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from tokensim.model.delays import (
    DelayDistribution,
    Exponential,
    Fixed,
    LogNormal,
    Uniform,
    _Strict,
)
from tokensim.model.fields import Duration, Fraction, Rate
from tokensim.model.loss import LossFigures
from tokensim.model.nodes import (
    IDENTITY_TTL_DEFAULT,
    Broker,
    Client,
    ClientAuth,
    Credential,
    Grant,
    Intermediary,
    Issuer,
    KeyStorage,
    Leak,
    Mechanism,
    Mesh,
    Platform,
    Position,
    Resource,
    Vector,
)

# re-exported: delays.py and nodes.py hold them, this module the whole file
__all__ = [
    "IDENTITY_TTL_DEFAULT",
    "Broker",
    "Client",
    "ClientAuth",
    "Credential",
    "DelayDistribution",
    "Exponential",
    "Fixed",
    "Grant",
    "Intermediary",
    "Issuer",
    "KeyStorage",
    "Leak",
    "LogNormal",
    "Mechanism",
    "Mesh",
    "Platform",
    "Position",
    "Resource",
    "Uniform",
    "Vector",
]


Node = Annotated[Client | Intermediary | Mesh | Broker | Resource | Issuer, Field(discriminator="kind")]

#: Node class for each ``kind`` value (used for error messages and the schema).
NODE_CLASSES: dict[str, type[BaseModel]] = {
    "client": Client,
    "proxy": Intermediary,
    "gateway": Intermediary,
    "mesh": Mesh,
    "broker": Broker,
    "resource": Resource,
    "issuer": Issuer,
}


class Attacker(_Strict):
    """When and how hard the thief replays (MODEL.md section 5)."""

    replay_delay: DelayDistribution = Field(
        default_factory=lambda: LogNormal(distribution="lognormal", median=1.0, sigma=1.0),
        description="delay from a leak to the start of its replay (a duration: a fixed delay)",
    )
    replay_rate: Rate = Field(30.0, description="the thief's requests per stolen credential family")
    targeting: Literal["sensitivity", "uniform"] = Field(
        "sensitivity", description="sensitivity: aims at resources in proportion to it; uniform: evenly"
    )
    #: RFC 9449 s11.2; none: as far as the tokens it holds live.
    presign_horizon: Duration | None = Field(
        None, description="how far past its dwell a thief with a signing oracle pre-signs DPoP proofs"
    )


class Defender(_Strict):
    """Detection of unauthorized requests (and failed ones) and the response to it (MODEL-v2.md section 5)."""

    detection_probability: Fraction = Field(0.01, description="chance that one unauthorized success is detected")
    #: MODEL-v2.md section 5. Default 0, version 1. Assumption (docs/parameters.md).
    binding_failure_detection: Fraction = Field(
        0.0, description="chance that a bound token without a valid proof or certificate is detected"
    )
    failure_detection: Fraction = Field(0.0, description="chance that a token outside its audience is detected")
    response_time: DelayDistribution = Field(
        default_factory=lambda: Exponential(distribution="exponential", mean=24.0),
        description="delay from the first detection to the revocation",
    )


Edge = Annotated[list[str], Field(min_length=2, max_length=2)]


class ModelFile(_Strict):
    """A tokensim architecture model file (docs/model.md, docs/parameters.md)."""

    name: Annotated[str, Field(min_length=1)] = Field(description="the model's name in results")
    description: str = Field("", description="free text for readers")
    nodes: Annotated[dict[str, Node], Field(min_length=1)] = Field(description="the nodes, by name")
    edges: list[Edge] = Field(default_factory=list, description="[from, to] pairs: the hops requests take")
    attacker: Attacker = Field(default_factory=Attacker, description="when and how hard the thief replays")
    defender: Defender = Field(default_factory=Defender, description="detection and response")
    #: MODEL-v2 section 6
    loss: LossFigures | None = Field(None, description="money per unit of harm; unset: no loss column")
