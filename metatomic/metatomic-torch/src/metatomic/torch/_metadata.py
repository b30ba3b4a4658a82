"""``ModelMetadata``: who made a model, what it is, and what to cite when using
it; shown to users by engines, and stored as JSON in exported models."""

import json
from typing import Dict, List, Optional

import torch

from ._jit import script_class

REFERENCE_KINDS = ["model", "architecture", "implementation"]


def _check_authors(authors: List[str]) -> List[str]:
    for author in authors:
        if author.strip() == "":
            raise ValueError("ModelMetadata authors can not be empty strings")
    return authors


def _check_references(references: Dict[str, List[str]]) -> Dict[str, List[str]]:
    for kind, entries in references.items():
        if kind not in ["model", "architecture", "implementation"]:
            raise ValueError(
                "unknown key '"
                + kind
                + "' in ModelMetadata references, expected 'model', "
                + "'architecture' or 'implementation'"
            )
        for entry in entries:
            if entry.strip() == "":
                raise ValueError(
                    "ModelMetadata references can not be empty strings (in '"
                    + kind
                    + "')"
                )
    return references


def _wrap(text: str, width: int, first: str, indent: str) -> List[str]:
    """The words of ``text`` in lines of at most ``width`` characters (longer
    words stay whole), the first line starting with ``first`` and the others
    with ``indent``; line breaks of ``text`` are kept"""
    lines: List[str] = []
    prefix = first
    for paragraph in text.split("\n"):
        line = prefix
        empty = True
        for word in paragraph.split(" "):
            if word == "":
                continue
            if not empty and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = indent + word
            elif empty:
                line = line + word
            else:
                line = line + " " + word
            empty = False
        lines.append(line.rstrip())
        prefix = indent
    return lines


def _title(text: str, underline: str) -> List[str]:
    return [text, "".ljust(len(text), underline)]


class ModelMetadata:
    """Metadata of a model, shown to its users.

    :param name: short name of the model
    :param description: what the model does, and how it was trained
    :param authors: people who made the model (non-empty strings)
    :param references: what to cite when using the model, under the keys
        ``"model"`` (this specific model), ``"architecture"`` and
        ``"implementation"``
    :param extra: any other information, as str => str

    >>> metadata = ModelMetadata(
    ...     name="demo",
    ...     description="a model for the documentation",
    ...     authors=["Ada Lovelace"],
    ...     references={"model": ["https://example.org/demo"]},
    ... )
    >>> print(metadata)
    This is the demo model
    ======================
    <BLANKLINE>
    a model for the documentation
    <BLANKLINE>
    Model authors
    -------------
    <BLANKLINE>
    - Ada Lovelace
    <BLANKLINE>
    Model references
    ----------------
    <BLANKLINE>
    Please cite the following references when using this model:
    - about this specific model:
      * https://example.org/demo
    """

    def __init__(
        self,
        name: str = "",
        description: str = "",
        authors: Optional[List[str]] = None,
        references: Optional[Dict[str, List[str]]] = None,
        extra: Optional[Dict[str, str]] = None,
    ):
        if authors is None:
            authors = torch.jit.annotate(List[str], [])
        if references is None:
            references = torch.jit.annotate(Dict[str, List[str]], {})
        if extra is None:
            extra = torch.jit.annotate(Dict[str, str], {})
        self.name: str = name
        self.description: str = description
        self._authors = _check_authors(authors)
        self._references = _check_references(references)
        self.extra: Dict[str, str] = extra

    @property
    def authors(self) -> List[str]:
        """Authors of the model"""
        return self._authors

    @authors.setter
    def authors(self, authors: List[str]):
        self._authors = _check_authors(authors)

    @property
    def references(self) -> Dict[str, List[str]]:
        """References to cite, under ``model``, ``architecture`` and
        ``implementation``"""
        return self._references

    @references.setter
    def references(self, references: Dict[str, List[str]]):
        self._references = _check_references(references)

    def __str__(self) -> str:
        if self.name == "":
            lines = _title("This is an unnamed model", "=")
        else:
            lines = _title("This is the " + self.name + " model", "=")
        if self.description != "":
            lines.append("")
            lines.extend(_wrap(self.description, 80, "", ""))
        if len(self._authors) != 0:
            lines.append("")
            lines.extend(_title("Model authors", "-"))
            lines.append("")
            for author in self._authors:
                lines.extend(_wrap(author, 80, "- ", "  "))
        has_references = False
        for kind in ["model", "architecture", "implementation"]:
            if kind in self._references and len(self._references[kind]) != 0:
                has_references = True
        if has_references:
            lines.append("")
            lines.extend(_title("Model references", "-"))
            lines.append("")
            lines.append("Please cite the following references when using this model:")
            titles = {
                "model": "about this specific model",
                "architecture": "about the architecture of this model",
                "implementation": "about the implementation of this model",
            }
            for kind in ["model", "architecture", "implementation"]:
                if kind in self._references and len(self._references[kind]) != 0:
                    lines.append("- " + titles[kind] + ":")
                    for reference in self._references[kind]:
                        lines.extend(_wrap(reference, 80, "  * ", "    "))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.__str__()


script_class(ModelMetadata)


def metadata_to_json(metadata: ModelMetadata) -> str:
    """The JSON of ``metadata`` in upstream's layout (4-space indent, sorted keys,
    ASCII with ``\\uXXXX`` escapes, no final newline)"""
    references = {}
    for kind in REFERENCE_KINDS:
        if kind in metadata.references:
            references[kind] = list(metadata.references[kind])
    data = {
        "class": "ModelMetadata",
        "name": metadata.name,
        "description": metadata.description,
        "authors": list(metadata.authors),
        "references": references,
        "extra": dict(metadata.extra),
    }
    return json.dumps(data, indent=4, sort_keys=True, ensure_ascii=True)


def _typed(data: dict, key: str, kind, default):
    value = data.get(key, default)
    if not isinstance(value, kind):
        raise ValueError(
            f"invalid ModelMetadata JSON: '{key}' must be a {kind.__name__}, got "
            f"{type(value).__name__}"
        )
    return value


def _string_list(value, what: str) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"invalid ModelMetadata JSON: {what} must be a list of str")
    return value


def metadata_from_json(text: str) -> ModelMetadata:
    """Read the JSON written by :py:func:`metadata_to_json`, checking it"""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"invalid ModelMetadata JSON: {e}") from e
    if not isinstance(data, dict) or data.get("class") != "ModelMetadata":
        raise ValueError(
            "invalid ModelMetadata JSON: expected an object with "
            '\'"class": "ModelMetadata"\''
        )
    references = _typed(data, "references", dict, {})
    extra = _typed(data, "extra", dict, {})
    if not all(isinstance(v, str) for v in extra.values()):
        raise ValueError("invalid ModelMetadata JSON: 'extra' values must be str")
    return ModelMetadata(
        name=_typed(data, "name", str, ""),
        description=_typed(data, "description", str, ""),
        authors=_string_list(data.get("authors", []), "'authors'"),
        references={
            kind: _string_list(entries, f"references['{kind}']")
            for kind, entries in references.items()
        },
        extra=dict(extra),
    )
