"""The HTML report without a browser: the document read back with the standard library's parser.

Every attacker-controlled field of the store holds an XSS payload (tests/fixtures/report/xss.json):
the report must show each one as text, put none in markup, load nothing, and carry a
Content-Security-Policy that allows only its own stylesheet, by hash.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mailhunt.errors import InputError
from mailhunt.report.html import build_report, render_report
from mailhunt.report.html.report import write_atomically
from mailhunt.store.db import Store
from tests.injection_world import Run, run
from tests.report.html_checks import Parsed, parse
from tests.report.xss_world import FILE_NAME_PAYLOAD, xss_corpus

SRC = Path(__file__).parents[2] / "src"

ALLOWED_TAGS = {
    *("html", "head", "meta", "title", "style", "body", "header", "main", "footer", "nav"),
    *("section", "div", "span", "p", "strong", "code", "br", "h1", "h2", "h3", "h4", "a"),
    *("ul", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tr", "th", "td"),
    *("svg", "rect", "line", "text", "details", "summary"),
}
ALLOWED_ATTRIBUTES = {
    *("class", "id", "href", "lang", "http-equiv", "content", "charset", "name", "role"),
    *("aria-label", "viewbox", "xmlns", "x", "y", "width", "height", "x1", "y1", "x2", "y2"),
    "text-anchor",
}


@pytest.fixture(scope="module")
def document(xss_report: Path) -> str:
    return xss_report.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def parsed(document: str) -> Parsed:
    return parse(document)


def _policy(parsed: Parsed) -> dict[str, list[str]]:
    metas = [e for e in parsed.elements if e.tag == "meta" and e.attrs.get("http-equiv")]
    assert len(metas) == 1
    assert metas[0].attrs["http-equiv"] == "Content-Security-Policy"
    content = metas[0].attrs["content"] or ""
    directives = [d.split() for d in content.split(";") if d.strip()]
    return {d[0]: d[1:] for d in directives}


def test_the_policy_is_strict_and_first_in_head(parsed: Parsed) -> None:
    tags = [e.tag for e in parsed.elements]
    assert tags[:3] == ["html", "head", "meta"]  # before anything it governs
    policy = _policy(parsed)
    assert policy["default-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'none'"]
    assert "script-src" not in policy  # default-src 'none': no script at all
    assert len(policy["style-src"]) == 1
    assert policy["style-src"][0].startswith("'sha256-")
    text = " ".join(" ".join([k, *v]) for k, v in policy.items())
    for loose in ("unsafe-inline", "unsafe-eval", "unsafe-hashes", "*", "data:", "http", "self"):
        assert loose not in text


def test_the_stylesheet_is_allowed_by_its_hash(parsed: Parsed) -> None:
    styles = parsed.raw_text["style"]
    assert len(styles) == 1
    assert [e.tag for e in parsed.elements].count("style") == 1
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    assert _policy(parsed)["style-src"] == [f"'sha256-{digest}'"]
    assert "</style" not in styles[0].lower()


def test_no_script_handler_url_or_inline_style(parsed: Parsed) -> None:
    assert "script" not in parsed.raw_text
    assert {e.tag for e in parsed.elements} <= ALLOWED_TAGS
    for element in parsed.elements:
        names = set(element.attrs)
        assert names <= ALLOWED_ATTRIBUTES, (element.tag, names - ALLOWED_ATTRIBUTES)
        assert not any(name.startswith("on") for name in names)
        if "href" in element.attrs:
            assert (element.attrs["href"] or "").startswith("#")


def test_every_payload_is_shown_as_text(parsed: Parsed) -> None:
    text = "\n".join(parsed.texts)
    missing = [
        key
        for key, value in xss_corpus().items()
        if value not in text and value.lower() not in text
    ]
    assert missing == []
    assert FILE_NAME_PAYLOAD in text  # the input file's name


def test_no_payload_is_written_raw(document: str) -> None:
    raw = [
        key
        for key, value in xss_corpus().items()
        if any(c in value for c in "<>\"'") and (value in document or value.lower() in document)
    ]
    assert raw == []
    assert FILE_NAME_PAYLOAD not in document


def test_svg_text_is_escaped(document: str) -> None:
    """Chart labels and tooltips hold payloads (mailbox names) as text."""
    assert "<text" in document
    assert "&lt;svg/onload=window.__xss=1&gt;@contoso.onmicros" in document


def test_an_empty_store_renders() -> None:
    with Store.open(None) as store:
        report = build_report(store)
        html = render_report(report)
    assert report.cases == []
    assert "No alert" in html
    assert "<script" not in html


def test_report_command_writes_the_file(report_run: tuple[Run, Path]) -> None:
    result, out = report_run  # the command over an older report, in a folder of its own
    assert result.code == 0, result.err
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]  # no temporary left
    assert "wrote" in result.out


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with nothing in it: the report is built before it is written, and an unwritable
    --out is the point, not what the report holds (the XSS store's took 9 s to build)."""
    path = tmp_path_factory.mktemp("empty") / "empty.duckdb"
    with Store.open(path):
        pass
    return path


@pytest.mark.parametrize("where", ["missing/report.html", "folder"])
def test_an_unwritable_out_is_one_line_and_exit_2(
    empty_db: Path, tmp_path: Path, where: str
) -> None:
    (tmp_path / "folder").mkdir()
    result = run(["report", "--db", str(empty_db), "--out", str(tmp_path / where)])
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
    assert "Traceback" not in result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]


def test_a_failed_write_keeps_the_previous_report(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("previous")
    tmp_path.chmod(0o500)
    try:
        if os.access(tmp_path, os.W_OK):
            pytest.skip("running as a user who can write anywhere (root)")
        with pytest.raises(InputError, match="cannot write the report"):
            write_atomically("new", out)
    finally:
        tmp_path.chmod(0o700)
    assert out.read_text() == "previous"


def test_templates_load_from_an_installed_package(tmp_path: Path) -> None:
    """The templates are package data read through importlib.resources: they load from a
    zipped package (no source tree, no file system path), as from any installed wheel."""
    archive = tmp_path / "mailhunt.zip"
    package = SRC / "mailhunt"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in package.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                zipped.write(path, path.relative_to(SRC).as_posix())
    script = (
        "import mailhunt, sys\n"
        "assert mailhunt.__file__.startswith(sys.argv[1]), mailhunt.__file__\n"
        "from mailhunt.report.html import build_report, render_report\n"
        "from mailhunt.store.db import Store\n"
        "with Store.open(None) as store:\n"
        "    print(render_report(build_report(store))[:15])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(archive)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(archive)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "<!DOCTYPE html>\n"
