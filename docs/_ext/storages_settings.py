"""``.. storages-settings:: dotted.path.Storage`` renders a backend's settings table.

The table comes from the backend's own declarations (``settings_table`` and
``legacy_settings``), so the docs can't fall behind the code.
"""

from __future__ import annotations

import pprint

from django.utils.module_loading import import_string
from docutils import nodes
from docutils.parsers.rst import Directive


def _default(value) -> str:
    if callable(value):
        try:
            value = value()
        except TypeError:
            return value.__name__
    text = pprint.pformat(value, width=60)
    return text if len(text) < 80 else text[:77] + "..."


def _table(headers: list[str], rows: list[list[str]]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(headers))
    table += group
    for _ in headers:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for h in headers:
        row += nodes.entry("", nodes.paragraph(text=h))
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for i, cell in enumerate(cells):
            para = nodes.paragraph()
            para += nodes.literal(text=cell) if i < 3 and cell else nodes.Text(cell)
            row += nodes.entry("", para)
        body += row
    return table


class SettingsTable(Directive):
    required_arguments = 1
    has_content = False

    def run(self):
        cls = import_string(self.arguments[0])
        rows = []
        for s in cls.get_settings():
            where = ", ".join(s.settings) or "(OPTIONS only)"
            if s.env:
                where += " (env: " + ", ".join(s.env) + ")"
            rows.append(
                [
                    s.name,
                    where,
                    _default(s.default),
                    s.doc + (" Secret: never in migrations." if s.secret else ""),
                ]
            )
        result = [_table(["OPTIONS key", "Django setting", "Default", "Meaning"], rows)]
        legacy = getattr(cls, "legacy_settings", ())
        if legacy:
            result.append(
                nodes.paragraph(text="Older settings, still accepted with a DeprecationWarning:")
            )
            result.append(
                _table(
                    ["Old setting", "Becomes", "", "Write instead"],
                    [[", ".join(rule.settings), rule.target, "", rule.instead] for rule in legacy],
                )
            )
        return result


def setup(app):
    app.add_directive("storages-settings", SettingsTable)
    return {"parallel_read_safe": True}
