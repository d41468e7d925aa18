"""Indexing: ``build.build_index`` diffs the corpus against the published version, embeds
what is new, and publishes a new version to the store; ``watch`` reindexes when the
corpus changes and reloads the engine when a new version is published."""
