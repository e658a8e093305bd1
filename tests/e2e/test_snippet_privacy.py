"""Workspace context (snippets of other open documents) obeys the privacy exclusions."""

from __future__ import annotations

from fim_server.fakes.deepseek import Reply

from .conftest import inline, open_doc, start


async def test_excluded_open_document_never_becomes_workspace_context(client, fake):
    """Snippets of other open documents pass the same exclusions as the current file."""
    marker = "SNIPPET_SECRET_MARKER_5150"
    fake.set_default(Reply(text="value"))
    await start(client, fake, workspaceContext=True, syntaxCheck=False)
    # an excluded file and an ordinary one share identifiers with the cursor's code
    open_doc(client, "file:///work/.env", f"compute_total_price={marker}\n", language="dotenv")
    open_doc(client, "file:///work/helpers.py", "def compute_total_price(items):\n    return sum(items)\n")
    open_doc(client, "file:///work/main.py", "items = [1, 2]\ntotal = compute_total_price(\n")
    await inline(client, "file:///work/main.py", 1, 26)
    bodies = [r.raw_body.decode("utf-8", "replace") for r in fake.completion_requests()]
    assert bodies, "the ordinary file must be completed"
    assert all(marker not in body for body in bodies)
    assert any("helpers.py" in body for body in bodies), "the allowed file is used as context"
