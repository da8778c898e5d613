"""The default figures of the cost model (version 2, MODEL-v2.md section 7): data, not code.

Every figure says where it comes from: FACTS.md (the project's sourced facts), a document
found with the search tool ("secondary" for a vendor blog, press or a third-party write-up),
or "assumption". docs/parameters.md section 4 repeats each with its source. `CostModel`
(tokensim/model/cost.py) takes these as defaults; a cost file overrides any of them.
"""

from __future__ import annotations

from typing import Literal

#: Where a signing key lives, as the latency table knows it (finer than a client's `key_storage`).
Storage = Literal[
    "none", "software", "webcrypto", "mobile_tee", "secure_enclave", "strongbox", "tpm", "hsm", "cloud_kms"
]
STORAGES: tuple[Storage, ...] = (
    "none", "software", "webcrypto", "mobile_tee", "secure_enclave", "strongbox", "tpm", "hsm", "cloud_kms"
)  # fmt: skip

#: Milliseconds to sign one ES256 DPoP proof, per storage.
SIGN_MS: dict[str, float] = {
    "none": 0.0,  # no key: such a client cannot bind
    "software": 0.0199,  # FACTS.md, Key storage: ES256 sign 19.9 us (software)
    # assumption: WebCrypto signs natively (BoringSSL / NSS), so the software figure plus the promise hop to the
    # page; no measurement found (a WebAssembly P-256 sign takes 0.245 ms on an Apple M4: 00f.net, 2026, secondary)
    "webcrypto": 0.1,
    # FACTS.md, Key storage: OP-TEE about 27 signatures per second (37 ms); secondary: an AndroidKeyStore
    # operation takes 35-40 ms against 0-2 ms in process (a Stack Overflow answer on Keystore's binder/TEE path)
    "mobile_tee": 37.0,
    "secure_enclave": 37.0,  # assumption: as a phone TEE; no Secure Enclave signing time was found
    # FACTS.md, Key storage: secure element ECDSA 76-83 ms; secondary: TEESimulator-RS v4.8 floors StrongBox
    # signing at 80 ms "to match real secure element latency"
    "strongbox": 80.0,
    # secondary: a Chrome study of TPM ECDSA P-256 signatures, p50 200 ms and p95 600 ms, as reported in
    # "TPM performance" (stiankri.substack.com), whose own benchmark finds single-digit signatures per second
    "tpm": 200.0,
    # Thales Luna SA 5.3 FAQ (thalesdocs.com): ECC P-256 1,000 signings/s on the Luna SA 7000, so 1 ms of
    # HSM time; plus 1 ms for the network round trip to the appliance (assumption: same data centre)
    "hsm": 2.0,
    # assumption: one in-region HTTPS call to the KMS (AWS KMS documents request quotas for Sign, not its
    # latency; none was found for Google Cloud KMS or Azure Key Vault)
    "cloud_kms": 15.0,
}

#: Which storage a client's `key_storage` means on its platform (assumption, docs/parameters.md section 4).
KEY_STORAGE_MAP: dict[str, dict[str, Storage]] = {
    # a browser key is a WebCrypto key, extractable or not; `hardware`: a TPM-bound key, as device-bound
    # session credentials use (secondary: "TPM performance", above)
    "browser": {"none": "none", "software": "webcrypto", "non_extractable": "webcrypto", "hardware": "tpm"},
    # Android Keystore keys sit in the TEE by default, StrongBox is opt-in (dynamic.xyz, "Device key storage");
    # iOS's Secure Enclave is taken as equal (assumption). Map `hardware` to `strongbox` for StrongBox keys.
    "mobile": {"none": "none", "software": "software", "non_extractable": "mobile_tee", "hardware": "mobile_tee"},
    # a server's key the thief cannot export sits in an HSM (PKCS#11); `hardware` in the built-in models is a
    # cloud KMS (workload_direct's kms_backend)
    "workload": {"none": "none", "software": "software", "non_extractable": "hsm", "hardware": "cloud_kms"},
    "ci": {"none": "none", "software": "software", "non_extractable": "cloud_kms", "hardware": "cloud_kms"},
    "legacy": {"none": "none", "software": "software", "non_extractable": "hsm", "hardware": "hsm"},
}

#: What a platform or SDK can do for a binding mechanism: `native` (a library does it), `custom` (the client
#: team writes it: `person_days` more), `unsupported` (it cannot be built).
SupportStatus = Literal["native", "custom", "unsupported"]

#: Per platform, where its usual client libraries stand; a mechanism not listed is native.
PLATFORM_SUPPORT: dict[str, dict[str, tuple[SupportStatus, float]]] = {
    "browser": {
        # FACTS.md, Integration effort: Keycloak's JS adapter has no DPoP; assumption: 5 person-days of WebCrypto
        # proof code (half of version 1's 10 for a browser, the other half being the integration itself)
        "dpop": ("custom", 5.0),
        # assumption: no web API lets a page create or pick a client certificate per token (the browser's
        # certificate picker is per origin and the user's); mTLS-bound tokens cannot be built in a browser
        "mtls": ("unsupported", 0.0),
    },
    "mobile": {
        # FACTS.md, Integration effort: AppAuth for iOS and Android lack DPoP (openid/AppAuth-iOS issue 856 and
        # AppAuth-Android issue 1158, both open); assumption: 4 of version 1's 8 person-days are that custom code
        "dpop": ("custom", 4.0),
        # assumption: per-device certificate provisioning and renewal (10 of version 1's 15 person-days)
        "mtls": ("custom", 10.0),
    },
}

#: Per SDK a client may name (`sdk`), the platform it is for and its gaps; its entry replaces the platform's
#: for the mechanisms it lists (an `unsupported` platform entry stays unsupported).
SDK_PLATFORMS: dict[str, str] = {
    "appauth_ios": "mobile",
    "appauth_android": "mobile",
    "auth0_swift": "mobile",
    "auth0_android": "mobile",
    "okta_oidc_ios": "mobile",
    "keycloak_js": "browser",
    "oidc_client_ts": "browser",
    "auth0_spa_js": "browser",
    "spring_security_servlet": "workload",
    "spring_security_reactive": "workload",
}
SdkName = Literal[
    "appauth_ios", "appauth_android", "auth0_swift", "auth0_android", "okta_oidc_ios", "keycloak_js",
    "oidc_client_ts", "auth0_spa_js", "spring_security_servlet", "spring_security_reactive",
]  # fmt: skip

SDK_SUPPORT: dict[str, dict[str, tuple[SupportStatus, float]]] = {
    "appauth_ios": {"dpop": ("custom", 4.0)},  # openid/AppAuth-iOS issue 856 (DPoP, open); days: as the platform
    "appauth_android": {"dpop": ("custom", 4.0)},  # openid/AppAuth-Android issue 1158 (DPoP, open)
    "auth0_swift": {"dpop": ("native", 0.0)},  # Auth0.swift 2.14.0 added DPoP (auth0/Auth0.swift pull 983)
    "auth0_android": {"dpop": ("native", 0.0)},  # Auth0.Android 3.9.1 (auth0/react-native-auth0 pull 1345)
    "okta_oidc_ios": {"dpop": ("custom", 4.0)},  # okta/okta-oidc-ios issue 360 (DPoP, open)
    "keycloak_js": {"dpop": ("custom", 5.0)},  # FACTS.md, Integration effort: Keycloak's JS adapter has none
    "oidc_client_ts": {"dpop": ("native", 0.0)},  # oidc-client-ts UserManagerSettings.dpop (its API docs)
    "auth0_spa_js": {"dpop": ("native", 0.0)},  # auth0-spa-js 2.4.1 (auth0/react-native-auth0 pull 1345)
    "spring_security_servlet": {"dpop": ("native", 0.0), "mtls": ("native", 0.0)},  # FACTS.md: DPoP in 6.5
    # FACTS.md, Integration effort: the reactive stack's DPoP is deferred to 7.0; assumption: 3 person-days,
    # the ~2 of server-side DPoP (FACTS.md) plus wiring it into WebClient
    "spring_security_reactive": {"dpop": ("custom", 3.0), "mtls": ("native", 0.0)},
}

#: Person-days per year, per client population, to keep its keys or certificates rotating (assumption: mTLS
#: needs a certificate authority, renewal automation and expiry monitoring; a DPoP key is regenerated by the
#: client library, leaving the upkeep of that code).
ROTATION_PERSON_DAYS_PER_YEAR: dict[str, float] = {"dpop": 0.5, "mtls": 2.0}
#: Person-days per year per resource that verifies DPoP with one shared `jti` store (`jti_tracking: global`).
#: Assumption: operating a replicated replay cache (patching, capacity, failover); a per-node cache is free.
JTI_STORE_PERSON_DAYS_PER_YEAR = 2.0
#: Person-days per year that one extra request per second costs in infrastructure (servers, capacity).
#: Assumption: the token-endpoint weight's figure (100 requests/s about a person-day), taken per year.
PERSON_DAYS_PER_RPS_YEAR = 0.01
#: Unplanned expired-certificate outages per year per mTLS client population. Secondary: the Ponemon /
#: Venafi 2015 Cost of Failed Trust survey (2,394 respondents, as reported by SC Magazine and CSO): two
#: unplanned certificate-related outages in two years per organisation; assumption: one estate per population.
CERT_OUTAGES_PER_YEAR = 1.0
#: Hours one such outage lasts (assumption: detection, reissue and redeployment within a working morning).
CERT_OUTAGE_HOURS = 4.0
#: Person-days of response per outage (assumption: diagnosis, reissue, review).
OUTAGE_PERSON_DAYS = 1.0
#: Share of a platform's DPoP requests rejected for a skewed clock (`iat` outside the window). Assumption:
#: user devices with a wrong clock, one request in a thousand; servers run NTP. Such failures are reported
#: (GOV.UK One Login iOS pull 883: "Invalid iat in DPoP JWT" from a proof signed minutes early, secondary).
CLOCK_SKEW_FAILURE_SHARE: dict[str, float] = {
    "browser": 0.001,
    "mobile": 0.001,
    "workload": 0.0,
    "ci": 0.0,
    "legacy": 0.0,
}
#: Years of recurring cost that `integration_cost` adds to the one-off cost (assumption: a typical planning
#: horizon for an architecture decision, three budget years).
RECURRING_YEARS = 3.0
