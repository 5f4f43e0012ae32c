"""`kbi kb create | list | entries`: the knowledge bases that jobs ingest into."""

from __future__ import annotations

import itertools

import click

from kb_client.cli.app import State, json_option, kbi, pass_state


@kbi.group()
def kb() -> None:
    """Create and inspect knowledge bases."""


@kb.command()
@click.argument("name")
@click.option("--description", help="What the knowledge base holds.")
@click.option("--existing", is_flag=True, help="Reuse a knowledge base of that name if there is one (safe to re-run).")
@json_option
@pass_state
def create(state: State, name: str, description: str | None, existing: bool, as_json: bool) -> None:
    """Create a knowledge base; its id is printed on stdout."""
    output = state.output(as_json)
    if existing:
        created = state.client.ensure_knowledge_base(name, description)
    else:
        created = state.client.create_knowledge_base(name, description)
    if output.as_json:
        output.json(created.raw)
    else:
        output.line(created.id)
        output.note(f"knowledge base {created.name!r}: {created.id} ({created.entry_count} entries)")


@kb.command(name="list")
@json_option
@pass_state
def list_(state: State, as_json: bool) -> None:
    """Every knowledge base, with its entry count."""
    output = state.output(as_json)
    found = list(state.client.iter_knowledge_bases())
    if output.as_json:
        output.json({"total": len(found), "knowledgeBases": [k.raw for k in found]})
    else:
        output.table(["Id", "Name", "Entries", "Description"], ([k.id, k.name, k.entry_count, k.description] for k in found))


@kb.command()
@click.argument("knowledge_base_id")
@click.option("--source-id", help="Only the entry with this source id.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most this many entries.")
@click.option("--all", "every", is_flag=True, help="Every entry, however many.")
@json_option
@pass_state
def entries(state: State, knowledge_base_id: str, source_id: str | None, limit: int, every: bool, as_json: bool) -> None:
    """A knowledge base's entries: what a migration actually landed."""
    output = state.output(as_json)
    found = state.client.iter_entries(knowledge_base_id, source_id=source_id)
    shown = list(found if every else itertools.islice(found, limit))
    if output.as_json:
        output.json({"entries": shown})
    else:
        output.table(["Source id", "Title", "Type", "Version", "Updated (UTC)"],
                     ([e["sourceId"], e["title"], e["contentType"], e["version"], e["updated_at"][:19].replace("T", " ")]
                      for e in shown))
