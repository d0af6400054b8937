"""What an operator reads: the community health report as an HTML file or terminal text.

Both renderers take the report's JSON form (``build_report(...).to_json()``) rather than
the analytics objects, so a report saved yesterday renders the same as one built now.
"""

from shequn.features.analytics.render.html import render_html
from shequn.features.analytics.render.text import render_text

__all__ = ["render_html", "render_text"]
