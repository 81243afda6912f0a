"""The services the dashboard reaches core through."""
