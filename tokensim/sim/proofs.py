"""What a captured DPoP proof allows (MODEL-v2.md section 4; docs/model.md section 5): two rules of the policy.

A proof covers one method and one URI without its query (RFC 9449 section 4.3: `htu`), and the body is
not signed, so every accepted replay inside its window counts as another request (version 1). How long
it replays is `proof_deadline` (the window, cut by a server nonce's epoch); how often a replay is
accepted is `proofs_replay` (jti tracking: never, per verifier replica, or always).
"""

from __future__ import annotations

import numpy as np

from tokensim.model.policy import Policy


def proof_deadline(request: np.ndarray, policy: Policy) -> np.ndarray:
    """Until when the proof of a request made at ``request`` replays it.

    Its `proof_window`; with a server nonce, no later than the end of the nonce epoch the request fell
    in (the server issues a nonce every `nonce_lifetime` on a fixed grid from time 0 and accepts only
    the current one: an assumption, docs/model.md section 5).
    """
    until: np.ndarray = request + policy.proof_window
    if policy.nonce:
        epoch_end = (np.floor(request / policy.nonce_lifetime) + 1.0) * policy.nonce_lifetime
        until = np.minimum(until, epoch_end)
    return until


def proofs_replay(policy: Policy, mechanism: str | None, verifiers: int = 1) -> float:
    """The chance that a replay of a captured proof is accepted: the thinning of its success rate.

    Only DPoP proofs replay. `jti_tracking: global`: never (the victim's own request came first).
    `per_node`: a replay lands on one of the verifying node's ``verifiers`` replicas, and only the one
    that served the victim has seen the proof: (k-1)/k, exact when the thief replays each proof at most
    once, an upper bound otherwise (a replica that accepted a replay has seen it too). `none`: always.
    """
    if mechanism != "dpop" or policy.jti_tracking == "global":
        return 0.0
    if policy.jti_tracking == "per_node":
        return (verifiers - 1) / verifiers
    return 1.0
