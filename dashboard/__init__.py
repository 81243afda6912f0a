"""Dashboard: the Gradio app, one module per tab, plotly figure builders by view (nothing heavy loads at import)."""
