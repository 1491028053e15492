"""Entry points: the HTTP API and WebSocket, the CLI."""
