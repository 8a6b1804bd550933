"""Where flow references lead: inside the flow folder, or to http(s) URLs only."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.flow.location import FlowLocation, LocationError


def test_static_references_resolve_inside_the_flow_folder(tmp_path: Path) -> None:
    main = FlowLocation.of(str(tmp_path / "main.xml"))
    assert main.root == tmp_path
    menu = main.resolve("menus/press-1.xml")
    assert menu.path == tmp_path / "menus" / "press-1.xml" and menu.root == tmp_path
    assert menu.resolve("../main.xml").path == tmp_path / "main.xml"  # still inside
    for escape in ("../outside.xml", "/etc/passwd", "menus/../../x.xml"):
        with pytest.raises(LocationError, match="outside the flow folder"):
            main.resolve(escape)


def test_urls_resolve_like_links_and_only_http_is_followed(tmp_path: Path) -> None:
    hook = FlowLocation.of("https://ivr.example/flows/start")
    assert hook.resolve("menu").url == "https://ivr.example/flows/menu"
    assert hook.resolve("/other").url == "https://ivr.example/other"
    static = FlowLocation.of(str(tmp_path / "main.xml"))
    assert static.resolve("https://cdn.example/a.mp3").url == "https://cdn.example/a.mp3"
    for bad in ("file:///etc/passwd", "ftp://x.example/f", "gopher://x"):
        with pytest.raises(LocationError):
            static.resolve(bad)
        with pytest.raises(LocationError):
            FlowLocation.of(bad)
    with pytest.raises(LocationError, match="no user or password"):
        FlowLocation.of("https://user:secret@ivr.example/")
