"""The regulatory vocabulary, pure: event names and payloads, items, sources, subscriptions."""
