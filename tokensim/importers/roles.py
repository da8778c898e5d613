"""What an element is, from the words its format uses for it (docs/import.md, "Roles").

Threagile names a technology from a closed list (`THREAGILE`); OTM's component types (IriusRisk library
ids such as ``web-client`` or ``api-gateway``) and CycloneDX's names are open, so they are matched by
keyword (`by_keyword`), first match wins, in the order of `KEYWORDS`. A tag (Threagile, OTM) or a
property (CycloneDX) ``tokensim-role:ROLE`` overrides both, for an element the words get wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, get_args

import yaml

from tokensim.importers.inventory import Role

ROLES: tuple[str, ...] = get_args(Role)
#: The tag or property that names an element's role outright.
OVERRIDE = "tokensim-role"
#: The prefix of a tag that states a tokensim field (``tokensim:instances=2000``).
STATED = "tokensim"

_CLIENT_TECH = {"browser": "browser", "mobile-app": "mobile", "desktop": "desktop", "client-system": "desktop"}
_CLIENT_TECH |= {"cli": "desktop", "devops-client": "desktop", "build-pipeline": "ci", "iot-device": "legacy"}
_HOP_TECH = {"reverse-proxy": "proxy", "load-balancer": "proxy", "waf": "proxy", "gateway": "gateway"}
_HOP_TECH |= {"service-mesh": "mesh", "identity-provider": "issuer"}
_API_TECH = """web-server web-application application-server erp cms web-service-rest web-service-soap ejb
search-engine service-registry report-engine ai sourcecode-repository artifact-registry code-inspection-platform
monitoring message-queue mail-server vault mainframe""".split()
_STORE_TECH = """database file-server local-file-system search-index identity-store-ldap identity-store-database
ldap-server block-storage data-lake big-data-platform""".split()
#: Threagile technology -> role. Not listed (task, function, batch-processing, scheduler, event-listener,
#: stream-processing, container-platform, tool, ids, ips, hsm, library, unknown-technology): unknown, decided by
#: the links (an element that only calls is a workload client, one that is called a resource).
THREAGILE: dict[str, str] = {**_CLIENT_TECH, **_HOP_TECH}
THREAGILE |= dict.fromkeys(_API_TECH, "api") | dict.fromkeys(_STORE_TECH, "datastore")

#: (role, keywords) in the order they are tried: on OTM types, then names; on CycloneDX names, then groups.
KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "issuer",
        (
            "identity provider",
            "identity-provider",
            "idp",
            "authorization server",
            "oauth server",
            "keycloak",
            "okta",
            "auth0",
            "entra",
            "azure ad",
            "cognito",
            "sso",
        ),
    ),
    ("broker", ("token exchange", "token-exchange", "token broker", "token-broker")),
    ("mesh", ("service mesh", "service-mesh", "sidecar", "istio", "linkerd", "envoy proxy sidecar")),
    ("gateway", ("api gateway", "api-gateway", "gateway", "ingress", "apigee", "kong")),
    (
        "proxy",
        (
            "reverse proxy",
            "reverse-proxy",
            "load balancer",
            "load-balancer",
            "elb",
            "alb",
            "waf",
            "cdn",
            "cloudfront",
            "nginx",
            "haproxy",
            "proxy",
        ),
    ),
    ("browser", ("browser", "web client", "web-client", "single page", "spa")),
    ("mobile", ("mobile", "android", "ios", "iphone")),
    ("desktop", ("desktop", "native app", "cli")),
    ("legacy", ("legacy client", "legacy-client")),
    ("ci", ("ci pipeline", "ci/cd", "pipeline", "github actions", "gitlab ci", "jenkins", "build")),
    (
        "datastore",
        (
            "database",
            "datastore",
            "data store",
            "rds",
            "dynamodb",
            "s3",
            "bucket",
            "postgres",
            "mysql",
            "redis",
            "storage",
            "cache",
            "sql",
            "db",
            "mongodb",
        ),
    ),
    ("workload", ("workload", "job", "cron", "lambda", "function", "worker", "batch")),
    ("api", ("api", "service", "server", "backend", "application", "app", "web")),
)


def override(tags: Iterable[str]) -> str | None:
    """The role a ``tokensim-role:ROLE`` tag names (None: no such tag); an unknown role is returned as is."""
    named = _named(tags)
    return named[0] if named else None


def conflict(tags: Iterable[str]) -> str | None:
    """Why the ``tokensim-role`` tags contradict each other (two different roles), or None: the source must
    say which it means, since either choice changes the routes."""
    named = list(dict.fromkeys(_named(tags)))
    if len(named) < 2:
        return None
    return f"its {OVERRIDE} tags name {len(named)} roles ({', '.join(named)}): keep the one you mean"


def _named(tags: Iterable[str]) -> list[str]:
    """The roles the ``tokensim-role:ROLE`` tags name, in order."""
    prefix = f"{OVERRIDE}:"
    return [tag.split(":", 1)[1].strip() for tag in tags if isinstance(tag, str) and tag.startswith(prefix)]


def stated_fields(tags: Iterable[str]) -> dict[str, Any]:
    """tokensim node fields a ``tokensim:FIELD=VALUE`` tag states (VALUE read as a YAML scalar: ``120/h``, ``2000``).

    A team that keeps its architecture in Threagile or OTM states tokensim's facts there (how many instances
    run, how often they call), so that a new import keeps them.

    >>> stated_fields(["pci", "tokensim:instances=2000", "tokensim:request_rate=120/h"])
    {'instances': 2000, 'request_rate': '120/h'}
    """
    stated: dict[str, Any] = {}
    for tag in tags:
        if isinstance(tag, str) and tag.startswith(f"{STATED}:") and "=" in tag:
            key, value = tag.split(":", 1)[1].split("=", 1)
            stated[key.strip()] = yaml.safe_load(value) if value.strip() else ""
    return stated


def is_tokensim_tag(tag: object) -> bool:
    """Whether a tag is tokensim's own (a role or a stated field), read rather than reported."""
    return isinstance(tag, str) and (tag.startswith(f"{OVERRIDE}:") or (tag.startswith(f"{STATED}:") and "=" in tag))


def by_keyword(*texts: str | None) -> tuple[str, str] | None:
    """The first (role, keyword) whose keyword appears as a word in any of ``texts``; None if none does."""
    words = " ".join(t.lower().replace("_", " ") for t in texts if t)
    for role, keywords in KEYWORDS:
        for keyword in keywords:
            if re.search(rf"(?<![a-z0-9]){re.escape(keyword)}(?![a-z0-9])", words):
                return role, keyword
    return None
