"""The hospital hub: queue numbers, insurance checks and check-in records.

Entry points: `server.app.create_app(settings)` (the FastAPI app),
`server.embedded.start_embedded_hub(path)` (a hub in a thread for the demo
and tests) and `server.cli.main` (the `kiosk-hub` command).
"""
