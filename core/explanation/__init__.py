"""Explanations: fast SHAP values, words, what-if edits and robustness reports."""
