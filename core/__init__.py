"""Core: data, classifier, training and cached analysis (no Gradio)."""
