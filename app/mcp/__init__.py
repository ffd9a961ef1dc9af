"""bichat as an MCP server (the official ``mcp`` SDK): the same tools, guard, tenant scope,
audit and conversation store as the chat, for Claude Desktop, Cursor and other agents.

``server`` builds it (tools, resources, prompts) for whoever a call acts as; ``http`` serves
it as streamable HTTP (mounted at ``/mcp`` by ``app.web.server``, behind the API token);
``stdio`` runs it as a local user's process (``bichat mcp``)."""
