"""The PoseBench leaderboard: a Streamlit app over one precomputed table built from the results store.

Modules, one concept each:

- :mod:`leaderboard.build`: ``bench leaderboard build``: store → one parquet table (every score
  row with its run's metadata and protocol; task metadata in the parquet's schema metadata), and
  :func:`~leaderboard.build.load_table` to read it back;
- :mod:`leaderboard.normalise`: the 0 (chance) – 100 (ground truth) per-task scale and its mean;
- :mod:`leaderboard.view`: filters, one headline score per entry and task, the main table, the
  per-task metric table;
- :mod:`leaderboard.plots`: Altair charts (CI bars, normalised small multiples, score vs size);
- :mod:`leaderboard.samples`: per-sample outputs next to the inputs and ground truth;
- :mod:`leaderboard.upload`: an uploaded bundle through the CLI's validator and scorer;
- :mod:`leaderboard.serve` / :mod:`leaderboard.browser`: serving the app, and a headless Chromium
  driven over CDP for screenshots and browser tests;
- ``leaderboard/app.py`` and ``leaderboard/page_*.py``: the Streamlit page.
"""
