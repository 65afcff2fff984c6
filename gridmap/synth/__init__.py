"""Synthetic worlds: the seeded Chengyang district, its people and requests, and tiny hand-drawn worlds."""
