"""How a list is addressed below ``_api/``: by id or by title (docs/sharepoint.md, "List names").

The one place that writes ``Web/lists(guid'…')`` and ``Web/lists/GetByTitle('…')``; the request
builders in :mod:`~veiviser.sharepoint.items` and :mod:`~veiviser.sharepoint.schema` and the
:class:`~veiviser.sharepoint.client.SiteClient` take a :class:`ListTarget` or a list title.
"""

from __future__ import annotations

from dataclasses import dataclass


def title_segment(title: str) -> str:
    """A quoted string argument (``GetByTitle('…')``, ``EnsureUser('…')``): quotes doubled.

    The URL encoder percent-encodes the rest when the request is sent.
    """
    return "'" + title.replace("'", "''") + "'"


@dataclass(frozen=True)
class ListTarget:
    """A list addressed by id or by title; ``path`` is its REST path below ``_api/``.

    ``title`` is set for a list addressed by title; builders use it as the operation's ``list``
    (error context) when the caller names none.
    """

    path: str
    title: str | None = None

    @classmethod
    def by_id(cls, list_id: str) -> ListTarget:
        return cls(f"Web/lists(guid'{list_id}')")

    @classmethod
    def by_title(cls, title: str) -> ListTarget:
        return cls(f"Web/lists/GetByTitle({title_segment(title)})", title)


def target(lst: ListTarget | str) -> ListTarget:
    """``lst`` as a :class:`ListTarget` (a plain string is a list title)."""
    return lst if isinstance(lst, ListTarget) else ListTarget.by_title(lst)


__all__ = ["ListTarget", "target", "title_segment"]
