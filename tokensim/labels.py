"""Readable names for sweep factors: `nodes.spa.leaks[0].rate` reads "spa leak rate (xss)".

One function, `factor_label`, names a factor path for every figure (sensitivity bars,
legends, titles) and for the report, so a reader never meets a dotted path where a
name will do. Paths start with ``policy``, ``nodes``, ``attacker`` or ``defender``
(docs/guide.md, section 4).

    >>> factor_label("policy.access_ttl")
    'access-token TTL'
    >>> factor_label("attacker.replay_delay.median"), factor_label("attacker.replay_delay.value")
    ('replay delay (median)', 'replay delay')
    >>> import tokensim
    >>> factor_label("nodes.spa.leaks[0].rate", tokensim.load_model("spa_behind_proxy"))
    'spa leak rate (xss)'
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tokensim.model.architecture import Architecture

#: Policy parameters by the name a reader knows them by.
POLICY_LABELS: dict[str, str] = {
    "access_ttl": "access-token TTL",
    "refresh_ttl": "refresh-token lifetime",
    "refresh_idle_ttl": "refresh-token idle timeout",
    "rotation": "refresh-token rotation",
    "reuse_detection": "refresh-token reuse detection",
    "reuse_grace": "reuse grace window",
    "refresh_binding": "refresh-token binding",
    "audience": "token audience",
    "proof_window": "DPoP proof window",
    "nonce": "DPoP server nonce",
    "nonce_lifetime": "DPoP nonce lifetime",
    "jti_tracking": "DPoP jti tracking",
    "jit": "just-in-time privileged tokens",
    "jit_ttl": "just-in-time token TTL",
    "on_binding_loss": "on binding loss",
    "on_unsupported": "on an unsupported client",
    "revocation_scope": "revocation scope",
    "low_risk": "low-risk tier mechanism",
    "privileged": "privileged tier mechanism",
}
#: Attacker and defender parameters (the part after ``attacker.`` or ``defender.``).
THREAT_LABELS: dict[str, str] = {
    "replay_rate": "replay rate",
    "replay_delay": "replay delay",
    "detection_probability": "detection probability",
}

_LEAK = re.compile(r"^nodes\.(?P<node>[^.\[]+)\.leaks\[(?P<index>\d+)\]\.(?P<field>.+)$")


def _words(name: str) -> str:
    return name.replace("_", " ").replace(".", " ")


def _vector(models: Iterable[Architecture], node: str, index: int) -> str | None:
    """The leak vector of ``node``'s leak ``index`` in the first model that has it."""
    for arch in models:
        spec = arch.spec.nodes.get(node)
        leaks = getattr(spec, "leaks", None) or []
        if index < len(leaks):
            return str(leaks[index].vector)
    return None


def factor_label(path: str, models: Architecture | Iterable[Architecture] | None = None) -> str:
    """A factor path (or a plain column such as ``access_ttl``) in words.

    ``models``: the model(s) the sweep ran, to name a leak by its vector (``xss``, ``log``);
    without them a leak is named by its position (``spa leak 1 rate``).
    """
    text = str(path)
    archs = [models] if isinstance(models, Architecture) else list(models or [])
    leak = _LEAK.match(text)
    if leak:
        node, index, field = leak["node"], int(leak["index"]), _words(leak["field"])
        vector = _vector(archs, node, index)
        return f"{node} leak {field} ({vector})" if vector else f"{node} leak {index + 1} {field}"
    head, _, rest = text.partition(".")
    if head == "policy" and rest:
        return POLICY_LABELS.get(rest, _words(rest))
    if head in ("attacker", "defender") and rest:
        name, _, part = rest.partition(".")
        base = THREAT_LABELS.get(name, _words(name))
        if part == "value":  # a fixed delay's one value: the delay itself
            return base
        return f"{base} ({_words(part)})" if part else base
    if head == "nodes" and rest:
        node, _, field = rest.partition(".")
        return f"{node} {_words(field)}" if field else node
    return POLICY_LABELS.get(text, _words(text))
