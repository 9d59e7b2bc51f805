"""Video tags (issue #15, point 7): what a tag may be, how it is normalised, and the `tags` field POST /videos and
PATCH /videos/{videoId} take (an array of strings in JSON, a comma-separated string in a form), mixed into the video
inputs (shared.schemas.videos). `GET /videos?tag=` normalises its tag the same way, so `#Guitar` finds `guitar`.

A tag is stored normalised (videos.tags, filtered through a GIN index): Unicode NFKC (full-width and compatibility
forms fold into their plain letters), whitespace trimmed and runs of it collapsed to one space, leading '#' dropped,
casefolded (which, unlike lower(), also folds 'ß' into 'ss', so one spelling finds the other). What is left is 1–30
characters of letters, marks, digits, spaces and - _ . + # & ' (so 'c++', 'c#' and "rock 'n' roll" are tags; a comma
never is: it separates tags in a form). A video has at most 10 distinct tags, in the order first given."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any, Self

from pydantic import Field, model_validator

from shared import errors
from shared.schemas import In, field

MAX_TAGS = 10
MAX_TAG_LENGTH = 30
MAX_SENT = 100  # pieces read at all: a body of a million commas is refused before any of them is normalised
_PUNCTUATION = frozenset(" -_.+#&'")
_ALLOWED_DOC = "letters, digits, spaces and - _ . + # & '"
TAGS_DOC = (f"Up to {MAX_TAGS} tags, each 1–{MAX_TAG_LENGTH} characters of {_ALLOWED_DOC}; stored trimmed, "
            "lowercased, inner spaces collapsed, a leading '#' dropped and duplicates removed. [] removes them all")
TAGS_FORM_DOC = f"Tags separated by commas (guitar, lesson, #beginners): {TAGS_DOC}"


def _shown(raw: str) -> str:
    return raw if len(raw) <= 40 else raw[:40] + "…"


def normalize_tag(raw: str) -> str:
    """One tag as stored; a 400 naming the tag and what is wrong with it."""
    tag = " ".join(unicodedata.normalize("NFKC", raw).split()).lstrip("#").strip().casefold()
    if not tag:
        raise errors.BadRequest("A tag may not be empty (or only '#')", errors=["tags: empty tag"])
    if len(tag) > MAX_TAG_LENGTH:
        raise errors.BadRequest(f"Tag '{_shown(tag)}' is longer than {MAX_TAG_LENGTH} characters",
                                errors=[f"tags: '{_shown(tag)}' is over {MAX_TAG_LENGTH} characters"])
    wrong = next((ch for ch in tag if unicodedata.category(ch)[0] not in "LMN" and ch not in _PUNCTUATION), None)
    if wrong is not None:
        if not wrong.isprintable():
            found = f"U+{ord(wrong):04X}"
            raise errors.BadRequest(f"A tag may not contain control or invisible characters (found {found})",
                                    errors=[f"tags: {found} is not allowed in a tag"])
        raise errors.BadRequest(f"Tag '{_shown(tag)}' contains '{wrong}': a tag may contain only {_ALLOWED_DOC}",
                                errors=[f"tags: '{wrong}' is not allowed in a tag"])
    return tag


def normalize_tags(values: Iterable[str]) -> list[str]:
    """A video's tags as stored: each normalised, duplicates (after normalising) dropped, first spelling's order
    kept; more than MAX_TAGS distinct ones is a 400."""
    found: dict[str, None] = {}
    for count, raw in enumerate(values, 1):
        if count > MAX_SENT:
            raise errors.BadRequest(f"At most {MAX_TAGS} tags per video")
        found.setdefault(normalize_tag(raw))
    if len(found) > MAX_TAGS:
        raise errors.BadRequest(f"At most {MAX_TAGS} tags per video ({len(found)} given)",
                                errors=[f"tags: {len(found)} distinct tags, at most {MAX_TAGS}"])
    return list(found)


def split_tags(text: str) -> list[str]:
    """A form's comma-separated tags; empty pieces (a trailing comma, ', ,') are nothing, not empty tags."""
    return normalize_tags(piece for piece in text.split(",", MAX_SENT) if piece.strip())


class TagsIn(In):
    """`tags` in a JSON body: an array of strings. Absent or null: unchanged (a new video has none)."""

    tags: list[str] | None = Field(None, examples=[["guitar", "lesson", "beginners"]], description=TAGS_DOC,
                                   json_schema_extra={"maxItems": MAX_TAGS})

    @model_validator(mode="after")
    def _tag_rules(self) -> Self:
        self.tag_list()
        return self

    def tag_list(self) -> list[str] | None:
        """The normalised tags sent, or None when the field was not."""
        return None if self.tags is None else normalize_tags(self.tags)

    def tag_changes(self) -> dict[str, Any]:
        tags = self.tag_list()
        return {} if tags is None else {"tags": tags}


class TagsFormIn(In):
    """`tags` in a form: one comma-separated string. Absent: unchanged; sent empty: no tags."""

    tags: str | None = field("guitar, lesson, #beginners", default=None, description=TAGS_FORM_DOC)

    @model_validator(mode="after")
    def _tag_rules(self) -> Self:
        self.tag_list()
        return self

    def tag_list(self) -> list[str] | None:
        return None if self.tags is None else split_tags(self.tags)

    def tag_changes(self) -> dict[str, Any]:
        tags = self.tag_list()
        return {} if tags is None else {"tags": tags}
