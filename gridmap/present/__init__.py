"""Presentation: folium rendering, GeoJSON/MVT encoding, the HTML report."""
