"""Dashboard: plotly figure builders, tables and the Gradio tabs (nothing heavy loads at import)."""
