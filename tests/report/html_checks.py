"""An HTML document read back with the standard library's parser: its elements, attributes and
text (character references decoded), for checks written independently of the templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]


@dataclass
class Parsed:
    elements: list[Element] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # every text node, decoded
    raw_text: dict[str, list[str]] = field(default_factory=dict)  # <style>/<script> contents


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parsed = Parsed()
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parsed.elements.append(Element(tag, dict(attrs)))
        self._open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parsed.elements.append(Element(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        current = self._open[-1] if self._open else ""
        if current in ("style", "script"):
            self.parsed.raw_text.setdefault(current, []).append(data)
        else:
            self.parsed.texts.append(data)


def parse(document: str) -> Parsed:
    reader = _Reader()
    reader.feed(document)
    reader.close()
    return reader.parsed
