"""Pure domain rules: plans, tessellation, partition, rebalance, metrics, placement rules, the complaint
workflow and SLA, KPI, coverage, privacy, codes, diff. No Flask, SQLAlchemy, folium, click or file I/O.
"""
