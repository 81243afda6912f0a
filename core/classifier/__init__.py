"""The classifier: loading, inference backends, batching, deferred load and fine-tuning."""
