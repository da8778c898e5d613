"""The JSON Schema of each input file kind (`tokensim schema --kind model|policy|experiment`), for editors.

Made by pydantic from the classes that validate the files (`tokensim.model.file_schema` says how units,
ranges and short forms enter it), so an editor accepts what the loader accepts, per field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaValue

from tokensim.experiment.spec import ExperimentFile
from tokensim.model.file_schema import TOP_DESCRIPTION, FileSchema
from tokensim.model.policy import PolicyFile
from tokensim.model.schema import ModelFile

SchemaKind = Literal["model", "policy", "experiment"]
#: Each file kind and the class whose schema it is.
FILE_CLASSES: dict[str, type[BaseModel]] = {"model": ModelFile, "policy": PolicyFile, "experiment": ExperimentFile}
SCHEMA_KINDS: tuple[str, ...] = tuple(FILE_CLASSES)


def file_schema(kind: SchemaKind = "model") -> JsonSchemaValue:
    """The JSON Schema (draft 2020-12) of a model, policy or experiment file, its limits said at the top.

    >>> schema = file_schema("policy")
    >>> schema["properties"]["access_ttl"]["default"], schema["properties"]["base"]["anyOf"][0]["enum"][:2]
    ('1h', ['bearer', 'dpop'])
    """
    json_schema = FILE_CLASSES[kind].model_json_schema(schema_generator=FileSchema)
    json_schema["description"] = f"{json_schema.get('description', '')} {TOP_DESCRIPTION}".strip()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **json_schema}
