"""The HTML report (``mailhunt report``): one self-contained file, Jinja2 templates shipped as
package data under ``templates/``, charts drawn as inline SVG, no script, a strict
Content-Security-Policy."""

from __future__ import annotations

from mailhunt.report.html.report import Report, build_report, render_report, write_report

__all__ = ["Report", "build_report", "render_report", "write_report"]
