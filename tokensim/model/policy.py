"""Token policies (MODEL.md section 2): presets are values, not code paths.

A `Policy` names, per privilege tier, the binding mechanisms in order of
preference (the first one a client supports is used), and every lifetime,
rotation and binding setting. Defaults and their sources: docs/parameters.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator

from tokensim.display import quote, shorten
from tokensim.errors import InputError, Problem, did_you_mean, format_loc
from tokensim.model.delays import _Strict
from tokensim.model.fields import Duration, DurationOrZero
from tokensim.model.file_schema import AlsoAccepts
from tokensim.model.loading import read_document, validate_as
from tokensim.model.schema import Mechanism


def _mechanism_list(value: object) -> object:
    """Accept `dpop`, `dpop,mtls` or a list; store a tuple in order of preference."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list):
        return tuple(value)
    return value


_ONE = r"\s*(?:bearer|dpop|mtls)\s*"
#: The text form of a mechanism list, as `_mechanism_list` reads it: names split at commas (empty parts skipped).
MECHANISM_TEXT = rf"^(?:\s*,)*{_ONE}(?:,(?:\s*,)*{_ONE})*(?:,\s*)*$"
Mechanisms = Annotated[
    tuple[Mechanism, ...],
    Field(min_length=1),
    BeforeValidator(_mechanism_list),
    AlsoAccepts({"type": "string", "pattern": MECHANISM_TEXT, "examples": ["dpop,mtls"]}),
]


def _overrides_mapping(value: object) -> object:
    """Accept the canonical JSON string of `Policy.parameters` (a result row) as well as a mapping."""
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else {}
        except ValueError as err:
            raise ValueError(f"expected a mapping of client or platform names to policy parameters: {err}") from None
    return value


#: Policy parameters an entry of `overrides` may not set (they name or hold the policy as a whole).
NOT_OVERRIDABLE = frozenset({"name", "overrides"})


def _jti_tracking(value: object) -> object:
    """Version 1 wrote `jti_tracking` as a boolean: `true` is one shared cache (global), `false` none.

    `--set jti_tracking=true` gives the word, not the boolean: it reads the same.
    """
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        value = value.strip().lower() == "true"
    if isinstance(value, bool):
        return "global" if value else "none"
    return value


#: Where a resource remembers DPoP proof `jti`s: nowhere, in each verifier replica's own cache, or in one
#: shared store (MODEL-v2.md section 4; docs/model.md section 5).
JtiTracking = Annotated[
    Literal["none", "per_node", "global"],
    BeforeValidator(_jti_tracking),
    AlsoAccepts({"type": "boolean", "description": "version 1: true is global, false none"}),
]


class Policy(_Strict):
    """Every setting of a token policy. Durations in hours (strings like `5m` accepted)."""

    name: str = Field("custom", description="the label in results (a policy file: its file name)")
    low_risk: Mechanisms = Field(("bearer",), description="mechanisms for low-risk requests, by preference")
    privileged: Mechanisms = Field(("bearer",), description="mechanisms for privileged requests, by preference")
    access_ttl: Duration = Field(1.0, description="access-token lifetime")
    refresh_ttl: Duration = Field(90 * 24.0, description="absolute lifetime of a grant (refresh-token family)")
    rotation: bool = Field(False, description="each refresh issues a new refresh token")
    reuse_detection: bool = Field(False, description="a rotated refresh token used again revokes its family")
    reuse_grace: DurationOrZero = Field(30 / 3600.0, description="window in which a rotated refresh token still works")
    audience: Literal["broad", "per_resource"] = Field(
        "broad", description="broad: one token for every resource; per_resource: one token per resource"
    )
    proof_window: Duration = Field(120 / 3600.0, description="DPoP iat window: how long a captured proof replays")
    nonce: bool = Field(False, description="server-issued DPoP nonces (a round trip per nonce)")
    # assumption, from the AT Protocol OAuth profile (nonces rotated at least every 5 minutes; FACTS.md)
    nonce_lifetime: Duration = Field(5 / 60.0, description="how long one server nonce is accepted")
    jti_tracking: JtiTracking = Field(
        "none",
        description="where verifiers remember DPoP proof jtis: nowhere, in each verifier replica, in one shared cache",
    )
    jit: bool = Field(False, description="privileged tokens issued just in time, per privileged request")
    jit_ttl: Duration = Field(10 / 60.0, description="lifetime of a just-in-time privileged token")
    on_binding_loss: Literal["fallback", "fail"] = Field(
        "fallback", description="a route that breaks the binding: carry the token as bearer, or fail"
    )
    on_unsupported: Literal["fallback", "fail"] = Field(
        "fallback", description="a client that can do none of a tier's mechanisms: use bearer, or fail"
    )
    #: MODEL-v2.md section 5: the detected family (version 1), everything its leak exposed, every family of
    #: its client population, of its (client, tenant), or of the run.
    revocation_scope: Literal["family", "leak", "client", "tenant", "all"] = Field(
        "family",
        description="what one detection revokes: the family, all its leak exposed, all of its client, tenant, or run",
    )
    refresh_binding: Literal["auto", "dpop", "mtls", "none"] = Field(
        "auto", description="how a public client's refresh token is bound; auto: by its low_risk mechanism, if bound"
    )
    refresh_idle_ttl: Duration | None = Field(None, description="a refresh token unused this long dies; unset: never")
    overrides: Annotated[dict[str, dict[str, Any]], BeforeValidator(_overrides_mapping)] = Field(
        default_factory=dict,
        description="per client name or platform: policy parameters (the name's entry wins)",
        json_schema_extra=lambda schema: schema.update(
            additionalProperties={"type": "object", "propertyNames": {"enum": [*OVERRIDABLE]}}
        ),
    )

    @field_validator("overrides", mode="after")
    @classmethod
    def _check_overrides(cls, value: dict[str, dict[str, Any]], info: ValidationInfo) -> dict[str, dict[str, Any]]:
        """Each entry's parameters, validated as the policy's own (units as the file requires them)."""
        out: dict[str, dict[str, Any]] = {}
        problems: list[str] = []
        for who, entry in value.items():
            out[who] = {}
            for key, raw in entry.items():
                field = cls.model_fields.get(key)
                if field is None or key in NOT_OVERRIDABLE:
                    names = [k for k in cls.model_fields if k not in NOT_OVERRIDABLE]
                    hint = did_you_mean(key, names)
                    problems.append(f"{who}.{key}: unknown policy parameter{hint}; allowed: {', '.join(names)}")
                    continue
                try:
                    adapter: TypeAdapter[Any] = TypeAdapter(field.rebuild_annotation())
                    out[who][key] = adapter.validate_python(raw, context=info.context)
                except ValidationError as err:
                    problems.append(f"{who}.{key}: {'; '.join(e['msg'] for e in err.errors())}")
        if problems:
            raise ValueError("; ".join(problems))
        return out

    def for_client(self, name: str, platform: str) -> Policy:
        """The policy one client population runs under: `overrides` for its platform, then for its name (wins).

        The result has no overrides of its own; it is this policy itself when none applies.
        """
        merged = {**self.overrides.get(platform, {}), **self.overrides.get(name, {})}
        if not merged:
            return self if not self.overrides else self.model_copy(update={"overrides": {}})
        return self.model_copy(update={**merged, "overrides": {}})

    def overrides_key(self) -> str:
        """`overrides` as one canonical JSON string (a flat column, a memo key)."""
        return json.dumps(
            {k: self.overrides[k] for k in sorted(self.overrides)}, sort_keys=True, separators=(",", ":"), default=list
        )

    def with_overrides(self, overrides: dict[str, Any], source: str = "--set") -> Policy:
        """Return a copy with some fields replaced, validated like a policy file."""
        unknown = [k for k in overrides if k not in type(self).model_fields]
        if unknown:
            raise InputError(
                source,
                [
                    Problem(
                        format_loc((str(k),)),
                        f"unknown policy parameter{did_you_mean(k, PARAMETERS)}; allowed: {', '.join(PARAMETERS)}",
                    )
                    for k in unknown
                ],
            )
        data = self.model_dump()
        data.update(overrides)
        return validate_as(Policy, data, source)

    def parameters(self) -> dict[str, Any]:
        """The policy as flat configuration columns (mechanism lists joined by commas)."""
        out: dict[str, Any] = {}
        for key, value in self.model_dump().items():
            out[key] = ",".join(value) if isinstance(value, tuple) else value
        out["overrides"] = self.overrides_key()  # results go to Parquet: one scalar column
        return out


PARAMETERS: tuple[str, ...] = tuple(Policy.model_fields)
#: What an entry of `overrides` may set.
OVERRIDABLE: tuple[str, ...] = tuple(k for k in PARAMETERS if k not in NOT_OVERRIDABLE)
#: Parameters added in version 2: result rows written before them lack their columns and take the defaults.
LATER_PARAMETERS: frozenset[str] = frozenset({"refresh_binding", "refresh_idle_ttl", "overrides"})


def repeated_policies(policies: Sequence[Policy], by: Literal["name", "settings"] = "name") -> list[str]:
    """The names, sorted, of the policies given more than once: rows of theirs could not be told apart.

    ``by="name"``: two policies with one name (sweeps and the CLI label rows by name alone).
    ``by="settings"``: two policies equal in every setting, the name included (`replicate`
    keeps same-named variants apart by their parameter columns).
    """
    keys = [p.name if by == "name" else p.model_dump_json() for p in policies]
    return sorted({p.name for p, key in zip(policies, keys) if keys.count(key) > 1})


_PRESETS: dict[str, dict[str, Any]] = {
    "bearer": {"low_risk": ("bearer",), "privileged": ("bearer",)},
    "dpop": {"low_risk": ("dpop",), "privileged": ("dpop",)},
    "mtls": {"low_risk": ("mtls",), "privileged": ("mtls",)},
    "hybrid": {"low_risk": ("bearer",), "privileged": ("dpop", "mtls")},
    "hybrid_jit": {"low_risk": ("bearer",), "privileged": ("dpop", "mtls"), "jit": True},
}
PRESETS: tuple[str, ...] = tuple(_PRESETS)
#: The preset names as a type (a policy file's `base`); `tests/test_json_schema.py` checks it against `PRESETS`.
PresetName = Literal["bearer", "dpop", "mtls", "hybrid", "hybrid_jit"]


class PolicyFile(Policy):
    """A tokensim policy file: a preset to start from and any policy parameters (docs/parameters.md section 2).

    The schema of the file only (`tokensim schema --kind policy`): `load_policy` reads it.
    """

    base: PresetName | None = Field(None, description="the preset to start from; unset: the defaults")


def preset(preset_name: str, /, **overrides: Any) -> Policy:
    """Return a preset policy (`bearer`, `dpop`, `mtls`, `hybrid`, `hybrid_jit`) with overrides.

    ``name=`` among the overrides renames the result (e.g. ``preset("dpop", name="dpop_5m",
    access_ttl="5m")``), so variants of one preset stay apart in result tables.
    """
    if preset_name not in _PRESETS:
        raise InputError.single(
            "--policy",
            "policy",
            f"unknown policy {quote(preset_name)}{did_you_mean(preset_name, PRESETS)};"
            f" presets: {', '.join(PRESETS)} (or a policy file)",
        )
    base = Policy(name=preset_name, **_PRESETS[preset_name])
    return base.with_overrides(overrides, source=f"policy {preset_name}") if overrides else base


def load_policy(path: str | Path) -> Policy:
    """Read a policy file: optional `base` (a preset) plus any policy parameters."""
    data, source = read_document(path)
    if not isinstance(data, dict):
        raise InputError.single(source, "", "expected a mapping of policy parameters")
    data = dict(data)
    base = data.pop("base", None)
    if base is not None:
        if not isinstance(base, str) or base not in _PRESETS:
            hint = did_you_mean(base, PRESETS)
            raise InputError.single(
                source, "base", f"unknown preset {quote(base)}{hint}; presets: {', '.join(PRESETS)}"
            )
        merged = {**_PRESETS[base], "name": Path(path).stem, **data}
    else:
        merged = {"name": Path(path).stem, **data}
    return validate_as(Policy, merged, source, units_required=True)


def resolve_policy(spec: str | Policy | Path) -> Policy:
    """A Policy from a Policy, a preset name or a policy file path."""
    if isinstance(spec, Policy):
        return spec
    text = str(spec)
    if text in _PRESETS:
        return preset(text)
    if text.endswith((".yaml", ".yml", ".json")) or Path(text).exists():
        return load_policy(text)
    return preset(text)  # raises the unknown-policy message


def parse_assignments(items: list[str], source: str = "--set") -> dict[str, str]:
    """Parse `key=value` strings from the command line (values validated later)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError.single(source, shorten(item), "expected key=value, e.g. access_ttl=5m")
        out[key.strip()] = value.strip()
    return out
