"""The dashboard: ipywidgets panel, ipympl previews, the Voilà app."""
