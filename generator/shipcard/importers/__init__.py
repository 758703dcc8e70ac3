"""`shipcard import`: service cards from what exists (Compose files, crontabs, EventBridge schedules,
Kubernetes manifests, ECS task definitions).

Each source module turns untrusted input into an `ImportResult` (cards as ruamel maps whose values
carry `# from FILE:LINE FIELD` comments, `custom/` files, and a report of what could not be
expressed); `write` validates the cards and writes them through the one transaction. A new source
is one more module with a `read_*` function and one more subcommand in `command.py`.
"""
