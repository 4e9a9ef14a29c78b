"""Report writing: atomic JSON/text, Markdown tables, bar charts."""

from actionkit.fileio import write_json_atomic, write_text_atomic
from actionkit.report.markdown import (controls_markdown, downstream_table_markdown, per_verb_markdown,
                                       probe_table_markdown, report_markdown)
from actionkit.report.plots import probe_bar_chart, probe_panels_chart

__all__ = [
    "controls_markdown",
    "probe_panels_chart",
    "downstream_table_markdown",
    "per_verb_markdown",
    "probe_bar_chart",
    "probe_table_markdown",
    "report_markdown",
    "write_json_atomic",
    "write_text_atomic",
]
