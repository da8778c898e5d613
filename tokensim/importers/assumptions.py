"""The values an import assumes because no architecture description holds them (docs/parameters.md, section 8).

Each is written into the imported model with the comment "assumed, set me" and listed in the import
report, with its source: a documented default of docs/parameters.md or an anchor of FACTS.md. None of
them is a fact about the imported system; they only make the model run until the team sets its own.
"""

from __future__ import annotations

from typing import NamedTuple


class Assumed(NamedTuple):
    """A value the importer writes for a field, and where the value comes from."""

    value: object
    source: str


#: Client fields every imported client gets (docs/parameters.md section 3, client table).
CLIENT: dict[str, Assumed] = {
    "instances": Assumed(1, "docs/parameters.md s3: one instance unless the model says how many"),
    "request_rate": Assumed("60/h", "docs/parameters.md s3: one request a minute for an active instance"),
}

#: What each platform can do, where the description says only that it holds a token (docs/parameters.md s3,
#: `supports`): browsers cannot present a per-token client certificate (the built-in spa_behind_proxy model);
#: server-side clients can do both (Spring Security DPoP 6.5 and mTLS from the TLS stack; FACTS.md,
#: Integration effort); native apps DPoP only (assumption: AppAuth lacks both, so DPoP needs custom code,
#: FACTS.md, Integration effort, and mTLS on a phone needs a per-device certificate).
SUPPORTS: dict[str, Assumed] = {
    "browser": Assumed(["bearer", "dpop"], "models/spa_behind_proxy.yaml: no mTLS binding in a browser"),
    "mobile": Assumed(["bearer", "dpop"], "assumption: DPoP in app code (AppAuth has none), no per-device certificate"),
    "workload": Assumed(["bearer", "dpop", "mtls"], "FACTS.md, Integration effort: server-side clients do both"),
    "ci": Assumed(["bearer", "dpop", "mtls"], "FACTS.md, Integration effort: server-side clients do both"),
    "legacy": Assumed(["bearer"], "docs/parameters.md s3: a legacy client binds nothing"),
}

#: Where a client keeps its key (it decides whether a resident thief exports a DPoP key or only uses it):
#: as the built-in models of each platform (FACTS.md, Key storage).
KEY_STORAGE: dict[str, Assumed] = {
    "browser": Assumed("non_extractable", "models/spa_behind_proxy.yaml: a WebCrypto non-extractable key"),
    "mobile": Assumed("hardware", "models/mobile_gateway.yaml: Secure Enclave / StrongBox / TEE"),
    "workload": Assumed("software", "models/service_mesh.yaml: key and certificate mounted as files"),
    "ci": Assumed("software", "models/ci_pipeline.yaml: keys as CI secrets / env vars"),
    "legacy": Assumed("software", "models/partner_network.yaml: a key as a file or env var"),
}

#: Leaks per platform, from docs/parameters.md s3, "Reference rates used by the built-in models" (rates per
#: instance per year; per host for host_compromise).
LEAKS: dict[str, tuple[Assumed, ...]] = {
    "browser": (Assumed({"vector": "xss", "rate": "0.02/year"}, "docs/parameters.md s3: xss 0.02/year per session"),),
    "mobile": (
        Assumed(
            {"vector": "malware", "rate": "0.0033/year"},
            "docs/parameters.md s3: malware 0.0033/year per device (Bursztein et al., FACTS.md)",
        ),
    ),
    "workload": (
        Assumed(
            {"vector": "host_compromise", "rate": "0.02/year"},
            "docs/parameters.md s3: host_compromise 0.02 to 0.05/year per host, the low end",
        ),
        Assumed(
            {"vector": "secret_sprawl", "rate": "0.01/year"},
            "docs/parameters.md s3: secret_sprawl 0.002 to 0.05/year per instance (models/service_mesh.yaml)",
        ),
    ),
}
LEAKS["ci"] = LEAKS["workload"]
LEAKS["legacy"] = LEAKS["workload"]

#: Browser and native clients hold refresh tokens (Entra issues SPAs 24 h refresh tokens, FACTS.md, Token
#: lifetimes; a native app keeps the user signed in); a workload re-authenticates (RFC 6749 section 4.4.3).
REFRESH_TOKEN: dict[str, Assumed] = {
    platform: Assumed(platform in ("browser", "mobile"), "FACTS.md, Token lifetimes; RFC 6749 section 4.4.3")
    for platform in ("browser", "mobile", "workload", "ci", "legacy")
}

#: The issuer an import adds when the description names none (docs/parameters.md s3, issuer: `revocation`).
ISSUER = Assumed(
    {"kind": "issuer", "revocation": "jwt"},
    "docs/parameters.md s3: revocation jwt (self-contained tokens), the schema default",
)

#: Sensitivity per confidentiality level (assumption: the scale of the built-in models, where a low-value API
#: weighs 1, order data with personal and payment details 5 and payment instructions 8).
SENSITIVITY: dict[str, float] = {
    "public": 1.0,
    "internal": 2.0,
    "restricted": 3.0,
    "confidential": 5.0,
    "strictly-confidential": 8.0,
}

#: Records per quantity level (assumption: Threagile names the levels without numbers; one value per order
#: of magnitude, 10, 1,000, 100,000 and 10 million).
RECORDS: dict[str, int] = {"very-few": 10, "few": 1_000, "many": 100_000, "very-many": 10_000_000}
