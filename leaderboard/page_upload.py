"""The "Submit" section: upload a bundle (.zip), score it like ``bench score`` and add it."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from bench.config import BenchConfig
from bench.errors import BenchError
from leaderboard.text import md_escape
from leaderboard.upload import score_upload
from submissions.scoring import DEFAULT_DATA

DONE_KEY = "upload_done"
"""Session key of the message shown after the rerun that follows a successful upload."""


def render_upload(config: BenchConfig, table_path: Path) -> None:
    """Uploader, dataset field and button; errors as one line, success after a rerun."""
    st.markdown(
        "Upload a submission bundle (`.zip` with `meta.json` and one predictions file per task; see "
        "`docs/submission_format.md`). It goes through the same validation and scoring as "
        "`bench score`; nothing is stored unless both succeed. Uploaded runs get the status **verified**."
    )
    if DONE_KEY in st.session_state:
        st.success(st.session_state.pop(DONE_KEY))
    uploaded = st.file_uploader("Bundle", type=["zip"], key="bundle")
    dataset = st.text_input("Dataset", value="", placeholder=f"meta.json's 'data', else {DEFAULT_DATA}", key="upload_data")
    if st.button("Score and add", type="primary", disabled=uploaded is None, key="upload_go"):
        try:
            with st.spinner("Validating and scoring…"):
                outcome = score_upload(uploaded.getvalue(), uploaded.name, config, table_path, dataset.strip() or None)
        except BenchError as exc:
            st.error(md_escape(exc))
            return
        eligible = "eligible" if outcome.eligible else "not eligible: " + "; ".join(outcome.ineligible_reasons)
        st.session_state[DONE_KEY] = md_escape(
            f"Stored run {outcome.run_id}: {outcome.model_name} {outcome.model_version} "
            f"({', '.join(outcome.tasks)}); {eligible}. The table was rebuilt."
        )
        st.rerun()
