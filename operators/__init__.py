"""The platform operators' tools (docs/architecture.md, "Layers"): top layer, beside demo."""
