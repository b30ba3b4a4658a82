"""Tests of ModelMetadata (SPEC §1.5): validation, printing, TorchScript, and its
JSON form (SPEC §4b)"""

import json
import re
from typing import Dict, List, Tuple

import pytest
import torch

from metatomic.torch import ModelMetadata
from metatomic.torch._metadata import metadata_from_json, metadata_to_json

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")


def test_defaults():
    metadata = ModelMetadata()
    assert metadata.name == ""
    assert metadata.description == ""
    assert metadata.authors == []
    assert metadata.references == {}
    assert metadata.extra == {}

    # the defaults are not shared
    metadata.authors.append("someone")
    metadata.extra["a"] = "b"
    assert ModelMetadata().authors == []
    assert ModelMetadata().extra == {}


def test_arguments():
    metadata = ModelMetadata(
        name="name",
        description="description",
        authors=["Ada", "Bob"],
        references={"model": ["ref 1"], "implementation": ["ref 2", "ref 3"]},
        extra={"key": "value"},
    )
    assert metadata.name == "name"
    assert metadata.description == "description"
    assert metadata.authors == ["Ada", "Bob"]
    assert metadata.references == {
        "model": ["ref 1"],
        "implementation": ["ref 2", "ref 3"],
    }
    assert metadata.extra == {"key": "value"}

    metadata.name = "other"
    metadata.description = "other description"
    metadata.authors = ["Cy"]
    metadata.references = {"architecture": ["ref 4"]}
    metadata.extra = {}
    assert metadata.name == "other"
    assert metadata.description == "other description"
    assert metadata.authors == ["Cy"]
    assert metadata.references == {"architecture": ["ref 4"]}
    assert metadata.extra == {}


@pytest.mark.parametrize("key", ["foo", "Model", "models", ""])
def test_invalid_reference_keys(key):
    message = (
        f"unknown key '{key}' in ModelMetadata references, expected 'model', "
        "'architecture' or 'implementation'"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelMetadata(references={key: ["ref"]})

    metadata = ModelMetadata(references={"model": ["ref"]})
    with pytest.raises(ValueError, match=re.escape(message)):
        metadata.references = {"model": ["other"], key: ["ref"]}
    assert metadata.references == {"model": ["ref"]}


@pytest.mark.parametrize("reference", ["", "   ", "\n"])
def test_empty_references(reference):
    message = "ModelMetadata references can not be empty strings (in 'architecture')"
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelMetadata(references={"architecture": ["ref", reference]})

    metadata = ModelMetadata()
    with pytest.raises(ValueError, match=re.escape(message)):
        metadata.references = {"architecture": [reference]}
    assert metadata.references == {}


@pytest.mark.parametrize("author", ["", "  ", "\t"])
def test_empty_authors(author):
    message = "ModelMetadata authors can not be empty strings"
    with pytest.raises(ValueError, match=re.escape(message)):
        ModelMetadata(authors=["Ada", author])

    metadata = ModelMetadata(authors=["Ada"])
    with pytest.raises(ValueError, match=re.escape(message)):
        metadata.authors = [author]
    assert metadata.authors == ["Ada"]


# ==================================================================================== #
#                                       printing                                       #
# ==================================================================================== #


def test_str_unnamed():
    metadata = ModelMetadata()
    expected = "This is an unnamed model\n========================"
    assert str(metadata) == expected
    assert repr(metadata) == expected


def test_str_name_only():
    metadata = ModelMetadata(name="SOAP-BPNN")
    assert str(metadata) == "This is the SOAP-BPNN model\n==========================="


def test_str_long_description():
    words = [f"word{i}" for i in range(40)]
    description = " ".join(words) + "\n\nsecond paragraph " + "x" * 90
    metadata = ModelMetadata(name="long", description=description)
    expected = (
        """This is the long model
======================

word0 word1 word2 word3 word4 word5 word6 word7 word8 word9 word10 word11 word12
word13 word14 word15 word16 word17 word18 word19 word20 word21 word22 word23
word24 word25 word26 word27 word28 word29 word30 word31 word32 word33 word34
word35 word36 word37 word38 word39

second paragraph
"""
        + "x" * 90
    )
    assert str(metadata) == expected

    for line in str(metadata).split("\n"):
        if line != "x" * 90:
            assert len(line) <= 80

    # the words of the description are all there, in order
    assert str(metadata).split()[6:] == description.split()


def test_str_wrapping_limit():
    # 80 characters fit on a line, 81 do not
    metadata = ModelMetadata(description="a" * 40 + " " + "b" * 39)
    assert str(metadata).split("\n")[3] == "a" * 40 + " " + "b" * 39

    metadata = ModelMetadata(description="a" * 40 + " " + "b" * 40)
    assert str(metadata).split("\n")[3:] == ["a" * 40, "b" * 40]


def test_str_authors():
    metadata = ModelMetadata(
        name="model",
        authors=["Ada Lovelace <ada@example.org>", " ".join(["Name"] * 25)],
    )
    assert str(metadata) == (
        "This is the model model\n"
        "=======================\n"
        "\n"
        "Model authors\n"
        "-------------\n"
        "\n"
        "- Ada Lovelace <ada@example.org>\n"
        "- " + " ".join(["Name"] * 15) + "\n"
        "  " + " ".join(["Name"] * 10)
    )


def test_str_references():
    metadata = ModelMetadata(
        name="model",
        description="a model",
        authors=["Ada"],
        # given in another order than the printed one
        references={
            "implementation": ["https://example.org/implementation"],
            "model": ["https://example.org/model-1", "https://example.org/model-2"],
            "architecture": ["https://example.org/architecture"],
        },
    )
    assert (
        str(metadata)
        == """This is the model model
=======================

a model

Model authors
-------------

- Ada

Model references
----------------

Please cite the following references when using this model:
- about this specific model:
  * https://example.org/model-1
  * https://example.org/model-2
- about the architecture of this model:
  * https://example.org/architecture
- about the implementation of this model:
  * https://example.org/implementation"""
    )


def test_str_some_references():
    long_reference = " ".join(["Author"] * 20) + ", Journal (2024)"
    metadata = ModelMetadata(
        references={"model": [], "implementation": [long_reference]}
    )
    assert str(metadata) == (
        "This is an unnamed model\n"
        "========================\n"
        "\n"
        "Model references\n"
        "----------------\n"
        "\n"
        "Please cite the following references when using this model:\n"
        "- about the implementation of this model:\n"
        # exactly 80 characters on the first line
        "  * " + " ".join(["Author"] * 11) + "\n"
        "    " + " ".join(["Author"] * 9) + ", Journal\n"
        "    (2024)"
    )

    # no reference at all
    metadata = ModelMetadata(references={"model": []})
    assert "references" not in str(metadata)


# ==================================================================================== #
#                                      TorchScript                                     #
# ==================================================================================== #


def _use_metadata(
    name: str, authors: List[str], references: Dict[str, List[str]]
) -> Tuple[str, str, List[str], Dict[str, List[str]], Dict[str, str], str]:
    metadata = ModelMetadata(
        name="first", description="a description", extra={"a": "b"}
    )
    metadata.name = name
    metadata.authors = authors
    metadata.references = references
    metadata.extra = {"c": "d"}
    return (
        metadata.name,
        metadata.description,
        metadata.authors,
        metadata.references,
        metadata.extra,
        str(metadata),
    )


def test_torchscript():
    scripted = torch.jit.script(_use_metadata)
    arguments = ("model", ["Ada", "Bob"], {"architecture": ["ref"], "model": ["m"]})
    expected = _use_metadata(*arguments)
    assert scripted(*arguments) == expected
    assert expected[:5] == (
        "model",
        "a description",
        ["Ada", "Bob"],
        {"architecture": ["ref"], "model": ["m"]},
        {"c": "d"},
    )

    with pytest.raises(torch.jit.Error, match="unknown key 'foo'"):
        scripted("model", [], {"foo": ["ref"]})
    with pytest.raises(torch.jit.Error, match="authors can not be empty strings"):
        scripted("model", [""], {})


# ==================================================================================== #
#                                         JSON                                         #
# ==================================================================================== #


def test_json():
    metadata = ModelMetadata(
        name="model",
        description="a model",
        authors=["Ada", "Bob"],
        references={"model": ["m"], "architecture": ["a1", "a2"]},
        extra={"z": "last", "a": "first"},
    )
    assert (
        metadata_to_json(metadata)
        == """{
    "authors": [
        "Ada",
        "Bob"
    ],
    "class": "ModelMetadata",
    "description": "a model",
    "extra": {
        "a": "first",
        "z": "last"
    },
    "name": "model",
    "references": {
        "architecture": [
            "a1",
            "a2"
        ],
        "model": [
            "m"
        ]
    }
}"""
    )


def test_json_empty():
    assert (
        metadata_to_json(ModelMetadata())
        == """{
    "authors": [],
    "class": "ModelMetadata",
    "description": "",
    "extra": {},
    "name": "",
    "references": {}
}"""
    )


def test_json_escapes():
    metadata = ModelMetadata(
        name="Σ-model 😀",
        description='line\n"quoted"\ttab \\ /',
        authors=["José"],
        extra={"clé": "\x01"},
    )
    text = metadata_to_json(metadata)
    assert text.isascii()
    assert not text.endswith("\n")
    assert '"name": "\\u03a3-model \\ud83d\\ude00"' in text
    assert '"description": "line\\n\\"quoted\\"\\ttab \\\\ /"' in text
    assert '"Jos\\u00e9"' in text
    assert '"cl\\u00e9": "\\u0001"' in text

    loaded = metadata_from_json(text)
    assert loaded.name == metadata.name
    assert loaded.description == metadata.description
    assert loaded.authors == metadata.authors
    assert loaded.extra == metadata.extra


def test_json_round_trip():
    metadata = ModelMetadata(
        name="model",
        description="a model",
        authors=["Ada"],
        references={"implementation": ["i"], "model": ["m"]},
        extra={"key": "value"},
    )
    text = metadata_to_json(metadata)
    loaded = metadata_from_json(text)
    assert isinstance(loaded, ModelMetadata)
    assert loaded.name == "model"
    assert loaded.description == "a model"
    assert loaded.authors == ["Ada"]
    assert loaded.references == {"implementation": ["i"], "model": ["m"]}
    assert loaded.extra == {"key": "value"}
    assert metadata_to_json(loaded) == text
    assert str(loaded) == str(metadata)


def test_json_missing_keys():
    loaded = metadata_from_json('{"class": "ModelMetadata"}')
    assert metadata_to_json(loaded) == metadata_to_json(ModelMetadata())


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "invalid ModelMetadata JSON: Expecting property name enclosed in"),
        ("", "invalid ModelMetadata JSON: Expecting value"),
        ("[]", 'invalid ModelMetadata JSON: expected an object with \'"class": '),
        ("{}", 'invalid ModelMetadata JSON: expected an object with \'"class": '),
        ('{"class": "ModelOutput"}', 'expected an object with \'"class": "Model'),
        (
            '{"class": "ModelMetadata", "name": 3}',
            "invalid ModelMetadata JSON: 'name' must be a str, got int",
        ),
        (
            '{"class": "ModelMetadata", "description": null}',
            "invalid ModelMetadata JSON: 'description' must be a str, got NoneType",
        ),
        (
            '{"class": "ModelMetadata", "authors": "Ada"}',
            "invalid ModelMetadata JSON: 'authors' must be a list of str",
        ),
        (
            '{"class": "ModelMetadata", "authors": [1]}',
            "invalid ModelMetadata JSON: 'authors' must be a list of str",
        ),
        (
            '{"class": "ModelMetadata", "references": []}',
            "invalid ModelMetadata JSON: 'references' must be a dict, got list",
        ),
        (
            '{"class": "ModelMetadata", "references": {"model": "m"}}',
            "invalid ModelMetadata JSON: references['model'] must be a list of str",
        ),
        (
            '{"class": "ModelMetadata", "extra": {"a": 1}}',
            "invalid ModelMetadata JSON: 'extra' values must be str",
        ),
        (
            '{"class": "ModelMetadata", "extra": ["a"]}',
            "invalid ModelMetadata JSON: 'extra' must be a dict, got list",
        ),
        # validated like the constructor
        (
            '{"class": "ModelMetadata", "references": {"paper": ["m"]}}',
            "unknown key 'paper' in ModelMetadata references",
        ),
        (
            '{"class": "ModelMetadata", "authors": [""]}',
            "ModelMetadata authors can not be empty strings",
        ),
    ],
)
def test_json_errors(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        metadata_from_json(text)


def test_json_is_valid_json():
    metadata = ModelMetadata(name="n", references={"model": ["m"]})
    data = json.loads(metadata_to_json(metadata))
    assert data == {
        "authors": [],
        "class": "ModelMetadata",
        "description": "",
        "extra": {},
        "name": "n",
        "references": {"model": ["m"]},
    }
