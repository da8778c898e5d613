"""The optional `loss:` section of a model file: what one unit of harm costs, in money (MODEL-v2.md section 6).

FAIR's loss magnitude, per unit the simulation counts: a record exposed, a privileged request, an
organisation reached (`organisations_reached`), an incident (a leak whose thief achieved at least one request). The loss event frequency comes
from the run itself, so the annual loss distribution (tokensim.analysis.loss) needs no expert ranges.
Every figure is the user's: tokensim ships no default (docs/parameters.md quotes published figures a
user may start from, with whose numbers they are).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tokensim.model.delays import _Strict
from tokensim.model.fields import Money


class LossFigures(_Strict):
    """Money per unit of harm; unset figures count nothing (0). ``day_rate`` prices a person-day of the
    integration cost in the same currency, so cost and loss share a unit (return on integration cost)."""

    per_record: Money = Field(0.0, description="money per record exposed")
    per_privileged_request: Money = Field(0.0, description="money per successful privileged request")
    per_tenant: Money = Field(0.0, description="money per organisation reached")
    per_incident: Money = Field(0.0, description="money per incident (a leak whose thief got a request through)")
    day_rate: Money | None = Field(None, description="money per person-day, to price the integration cost")
    currency: Annotated[str, Field(min_length=1, max_length=12, pattern=r"^[A-Za-z$€£¥]+$")] = Field(
        "USD", description="a label printed with money figures; nothing is converted"
    )

    def loss(self, records: float, privileged: float, organisations: float, incidents: float) -> float:
        """The loss of one run from its counts (``records_exposed``, ``privileged_requests``,
        ``organisations_reached``, ``incidents``): each count times its figure, summed."""
        return (
            self.per_record * records
            + self.per_privileged_request * privileged
            + self.per_tenant * organisations
            + self.per_incident * incidents
        )
