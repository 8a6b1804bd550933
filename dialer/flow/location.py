"""Where a flow document or a prompt lives: a file in a flow folder, or an http(s) URL.

A campaign's flow is a file (static) or a URL (a webhook). Everything it refers
to (`<Play>`, `<Redirect>`, a `<Gather action>`) resolves against the document
that names it, like links in a web page. A static flow's files must stay inside
the folder of the campaign's first flow: `action="../../etc/passwd"` is refused,
because flows can come from a webhook or a manager's upload, and the dialer is
not a file server. Only http and https URLs are followed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

_SCHEMES = ("http", "https")


class LocationError(ValueError):
    """A reference that cannot be followed (outside the flow folder, a bad scheme)."""


@dataclass(frozen=True)
class FlowLocation:
    url: str | None = None  # a webhook or a prompt on a web server
    path: Path | None = None  # a file...
    root: Path | None = None  # ...inside this folder

    @classmethod
    def of(cls, text: str) -> FlowLocation:
        """A campaign's flow as configured: an http(s) URL, or a file (its folder is the root)."""
        if _is_url(text):
            return cls(url=_checked_url(text))
        if "://" in text:
            raise LocationError(f"only http and https URLs are followed (got {text!r})")
        path = Path(text).expanduser().resolve()
        return cls(path=path, root=path.parent)

    @property
    def is_url(self) -> bool:
        return self.url is not None

    def resolve(self, reference: str) -> FlowLocation:
        """`reference` as named inside this document."""
        reference = reference.strip()
        if _is_url(reference):
            return FlowLocation(url=_checked_url(reference))
        if self.url is not None:
            return FlowLocation(url=_checked_url(urljoin(self.url, reference)))
        if "://" in reference:
            raise LocationError(f"only http and https URLs are followed (got {reference!r})")
        assert self.path is not None and self.root is not None
        target = (self.path.parent / reference).resolve()
        if not target.is_relative_to(self.root):
            raise LocationError(f"{reference!r} is outside the flow folder {self.root}")
        return FlowLocation(path=target, root=self.root)

    def __str__(self) -> str:
        return self.url if self.url is not None else str(self.path)


def _is_url(text: str) -> bool:
    return urlsplit(text.strip()).scheme.lower() in _SCHEMES


def _checked_url(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme.lower() not in _SCHEMES or not parts.hostname:
        raise LocationError(f"not an http(s) URL with a host: {text!r}")
    if parts.username or parts.password:
        # Credentials in a URL end up in logs and in results: refuse them outright.
        raise LocationError(f"no user or password in flow URLs (got {parts.hostname!r})")
    return text.strip()
