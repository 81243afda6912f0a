"""Review decisions: the store, content keys, sync targets, access rules and export."""
