"""QĐ 766 "Số hóa hồ sơ" ratios (issue #6): the agency tree, the one-stop dossier registry,
per-agency targets, the SQL aggregates, the roll-up over the hierarchy, and the renderings
(table, CSV, JSON, chart).

Flow: `agencies.py` and `registry.py` import CSV into the catalog (`csvinput.py` reads it);
`aggregate.py` counts per agency (and month) with GROUP BY in SQL; `report.py` rolls the counts up
the tree and applies `targets.py` and `indicators.py` over a `periods.py` period; `render.py` and
`chart.py` present the rows.
"""
