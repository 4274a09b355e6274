"""The schema browser: global views with their columns, view_instance templates, load errors.

Filled from `FlightSQLClient.list_tables()` by a thread worker in the app. Each view shows its
column count and estimated row size; expanding it lists columns with their Arrow type and
estimated bytes (see `mmtui.sqlhints.estimate_type_bytes`). Enter inserts the name under the
cursor into the editor. A view_instance template is inserted with its `<id>` placeholder
selected, so typing the id replaces it. Labels are rich `Text`, so a server-supplied name is
never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from mmtui import sqlhints
from mmtui.results import safe_text
from mmtui.sqlhints import quote_identifier
from mmtui.ui.editor import editor_text


@dataclass(frozen=True)
class SchemaItem:
    """Data of a tree node: its kind and the text Enter inserts (None: nothing to insert)."""

    kind: str
    """One of "view", "column", "template", "group", "message"."""
    insert_text: str | None = None
    placeholder: str | None = None
    """Part of `insert_text` that the editor selects after inserting it, for the user to replace."""
    insert_error: str | None = None
    """The message Enter shows instead of inserting this name, or None when it inserts."""


def name_item(kind: str, name: str) -> SchemaItem:
    """Return the item of a view or column called `name`.

    The editor shows control and bidi characters as visible symbols (`editor_text`), so a name
    containing them could not reach the server as written: Enter refuses to insert it.
    """
    if editor_text(name) != name:
        return SchemaItem(
            kind,
            insert_error=f"The {kind} name {safe_text(name)} contains control characters, which "
            "the editor does not take, so it cannot be inserted.",
        )
    return SchemaItem(kind, quote_identifier(name))


class SchemaBrowser(Tree[SchemaItem]):
    """Views and columns of the server, as a keyboard-driven tree."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "enter",
            "insert_name",
            "Insert name",
            id="schema.insert",
            tooltip="Insert the name of the view or column at the editor cursor",
        ),
        Binding(
            "space",
            "toggle_node",
            "Expand",
            id="schema.toggle",
            tooltip="Show or hide the columns of the view",
        ),
        Binding(
            "right",
            "expand_node",
            "Expand",
            show=False,
            id="schema.expand",
            tooltip="Show the columns of the view",
        ),
        Binding(
            "left",
            "collapse_node",
            "Collapse",
            show=False,
            id="schema.collapse",
            tooltip="Hide the columns of the view",
        ),
    ]

    class InsertRequested(Message):
        """A request to insert `text` at the editor cursor."""

        def __init__(self, text: str, placeholder: str | None = None) -> None:
            super().__init__()
            self.text = text
            self.placeholder = placeholder
            """Part of `text` to select after the insertion (None: select nothing)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("server", data=SchemaItem("group"), **kwargs)
        self.show_root = False
        self.guide_depth = 2
        self.table_names: list[str] = []
        self.column_names: list[str] = []

    def show_tables(self, tables: Sequence[Any]) -> None:
        """Fill the tree from `list_tables()` results (objects with name, table_type, schema)."""
        self.clear()
        self.table_names = []
        columns: set[str] = set()
        views = self.root.add(Text("Views", style="bold"), data=SchemaItem("group"), expand=True)
        for table in sorted(tables, key=lambda table: str(table.name)):
            name = str(table.name)
            self.table_names.append(name)
            schema = table.schema
            view = views.add(_view_label(name, schema), data=name_item("view", name))
            if schema is None:
                view.add_leaf(Text("(schema not sent)", style="dim"), data=SchemaItem("message"))
                continue
            for field in schema:
                columns.add(field.name)
                view.add_leaf(_column_label(field), data=name_item("column", field.name))
        if not tables:
            empty = Text("(the server lists no views)", style="dim")
            views.add_leaf(empty, data=SchemaItem("message"))
        templates = self.root.add(
            Text("view_instance templates", style="bold"), data=SchemaItem("group"), expand=True
        )
        for view_name, id_kind, description in sqlhints.VIEW_INSTANCE_TEMPLATES:
            placeholder = f"<{id_kind}>"
            call = f"view_instance('{view_name}', '{placeholder}')"
            label = Text.assemble(
                (view_name, "bold"), (f"({id_kind})  ", "dim"), (description, "dim italic")
            )
            templates.add_leaf(label, data=SchemaItem("template", call, placeholder))
        self.column_names = sorted(columns)
        self.cursor_line = 1 if tables else 0

    def action_insert_name(self) -> None:
        node = self.cursor_node
        if node is None or node.data is None:
            return
        if node.data.insert_error is not None:
            self.notify(node.data.insert_error, title="Schema", severity="warning", markup=False)
        elif node.data.insert_text is not None:
            self.post_message(self.InsertRequested(node.data.insert_text, node.data.placeholder))
        elif node.allow_expand:
            node.toggle()

    def action_expand_node(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand:
            node.expand()

    def action_collapse_node(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.allow_expand and node.is_expanded:
            node.collapse()
        elif node.parent is not None and node.parent is not self.root:
            self.move_cursor(node.parent)

    def node_for(self, name: str) -> TreeNode[SchemaItem] | None:
        """Return the node of the view called `name`, or None."""
        expected = quote_identifier(name)
        for group in self.root.children:
            for node in group.children:
                data = node.data
                if data is not None and data.kind == "view" and data.insert_text == expected:
                    return node
        return None


def _view_label(name: str, schema: Any) -> Text:
    label = Text(safe_text(name), style="bold")
    if schema is not None:
        row_bytes = sqlhints.estimate_row_bytes(schema)
        label.append(f"  {len(schema)} cols · ~{row_bytes} B/row", style="dim")
    return label


def _column_label(field: Any) -> Text:
    return Text.assemble(
        (safe_text(field.name), ""),
        ("  ", ""),
        (sqlhints.describe_type(field.type), "cyan"),
        (f"  {sqlhints.estimate_type_bytes(field.type)} B", "dim"),
    )
