"""One module per dashboard tab: ``build_<name>_tab(service, ...)``."""
