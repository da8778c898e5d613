"""The model's attacker, defender and loss sections in an import: stated by the source, or the schema's defaults.

No architecture description says when and how hard a thief replays or how fast the defender responds;
an OTM file that ``tokensim export`` wrote carries them (``project.attributes.tokensim``). Otherwise the
import assumes the schema defaults and says so (docs/parameters.md section 8).
"""

from __future__ import annotations

from tokensim.importers.draft import Draft
from tokensim.importers.inventory import Inventory

#: What the schema defaults of each section cover, for the report.
DEFAULTS = {
    "attacker": "replay delay, replay rate and targeting: the schema defaults (docs/parameters.md s3)",
    "defender": "detection probability and response time: the schema defaults (docs/parameters.md s3)",
}


def apply(inventory: Inventory, draft: Draft) -> None:
    """Copy the sections the source states into the model; report the defaults assumed for the others."""
    for key, value in inventory.sections.items():
        draft.model[key] = value
        draft.comments[(key,)] = f"stated in the source (tokensim {key})"
    for key, detail in DEFAULTS.items():
        if key not in inventory.sections:
            inventory.report.add("assumed", key, "", detail)
