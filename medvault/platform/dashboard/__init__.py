"""The offline HTML dashboard: one self-contained page (data, styles and the chart code inline, no CDN)."""
