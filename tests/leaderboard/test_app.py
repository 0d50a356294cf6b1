"""The page under Streamlit's AppTest: main table, filters, sorting, per-task view, plots, caching."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from leaderboard.build import build_table
from tests.leaderboard.conftest import open_app, show
from tests.leaderboard.entries import XSS_NAME, Entry, expected_value, fill_store

COMPLETE = ["gt", "UniPose-small", XSS_NAME, "chance"]
"""Entries with every task, best normalised mean first (anchors included)."""


def table(at: AppTest) -> pd.DataFrame:
    """The main table as the reader sees it: task cells as displayed (the grid shows "—" for null
    cells), the numeric columns as numbers."""
    element = at.dataframe[0]
    raw = element.value
    shown = dataframe_util.convert_arrow_bytes_to_pandas_df(element.proto.arrow_data.styler.display_values)
    shown = shown.where(raw.notna().to_numpy(), "—")
    for column in ("Rank", "Norm. mean", "Params"):
        shown[column] = raw[column]
    return shown


def warnings(at: AppTest) -> list[str]:
    """Warning texts with the Markdown escapes removed."""
    return [w.value.replace("\\", "") for w in at.warning]


def row(frame: pd.DataFrame, entry: str) -> pd.Series:
    return frame[frame["Entry"] == entry].iloc[0]


def test_main_table_values_arrows_mean_and_rank(app: AppTest) -> None:
    frame = table(app)
    tasks = [c for c in frame.columns if c.endswith(("↑", "↓"))]
    assert len(tasks) == 9
    assert "pose2text ↑" in tasks and "rpe ↓" in tasks and "poseedit ↓" in tasks and "text2pose ↑" in tasks
    assert list(frame["Entry"][:4]) == COMPLETE
    uni = row(frame, "UniPose-small")
    assert uni["pose2text ↑"] == f"{expected_value('UniPose-small', 'pose2text'):.1f}" == "56.4"
    assert uni["rpe ↓"] == "48.0" and uni["Norm. mean"] == pytest.approx(60.0) and uni["Rank"] == 1
    assert row(frame, XSS_NAME)["Norm. mean"] == pytest.approx(30.0) and row(frame, XSS_NAME)["Rank"] == 2
    assert row(frame, "gt")["Norm. mean"] == pytest.approx(100.0) and pd.isna(row(frame, "gt")["Rank"])
    assert row(frame, "chance")["Norm. mean"] == pytest.approx(0.0) and pd.isna(row(frame, "chance")["Rank"])
    assert row(frame, "UniPose-small")["Params"] == 250_000_000 and row(frame, "UniPose-small")["Date"] == "2025-03-01"
    assert row(frame, "partial-model")["Status"] == "self-reported"


def test_missing_failed_and_mismatched_scores(app: AppTest) -> None:
    frame = table(app)
    assert set(frame["Entry"][4:]) == {"broken-model", "old-evaluator", "partial-model"}  # incomplete: last
    assert frame["Norm. mean"][4:].isna().all() and frame["Rank"][4:].isna().all()
    assert row(frame, "broken-model")["text2pose ↑"] == "failed"
    partial = row(frame, "partial-model")
    assert partial["rpe ↓"] == "—" and partial["pose2text ↑"] == "74.2"
    old = row(frame, "old-evaluator")
    assert old["pose2text ↑"] == "83.1 ⚠" and "not comparable" in old["Flags"]
    assert any("old-evaluator 1.0" in w and "pose2text" in w for w in warnings(app))
    assert "smoke-test" not in set(frame["Entry"])  # ineligible: hidden by default


def test_ineligible_runs_toggle(app: AppTest) -> None:
    app.toggle(key="ineligible").set_value(True).run()
    frame = table(app)
    smoke = row(frame, "smoke-test")
    assert smoke["Rank"] == 1 and smoke["Flags"].startswith("ineligible: --limit 8")
    assert row(frame, "UniPose-small")["Rank"] == 2


def test_sort_by_task_best_first_missing_last(app: AppTest) -> None:
    app.selectbox(key="sort_by").set_value("text2pose ↑").run()
    frame = table(app)
    assert list(frame["text2pose ↑"][-2:]) == ["failed", "—"]
    values = [float(v) for v in frame["text2pose ↑"][:-2]]
    assert values == sorted(values, reverse=True) and frame["Entry"].iloc[0] == "gt"
    app.selectbox(key="sort_by").set_value("rpe ↓").run()
    frame = table(app)
    values = [float(v) for v in frame["rpe ↓"][:-1]]
    assert values == sorted(values) and frame["rpe ↓"].iloc[-1] == "—"


def test_family_and_modality_filters(app: AppTest) -> None:
    app.multiselect(key="families").set_value(["reasoning"]).run()
    frame = table(app)
    assert [c for c in frame.columns if c.endswith(("↑", "↓"))] == ["rpe ↓", "spg ↑"]
    assert "partial-model" not in set(frame["Entry"])  # no task in view
    assert row(frame, "old-evaluator")["Rank"] == 1 and row(frame, "broken-model")["Rank"] == 3  # complete here
    app.multiselect(key="families").set_value([]).run()
    app.multiselect(key="modalities").set_value(["image"]).run()
    assert [c for c in table(app).columns if c.endswith(("↑", "↓"))] == ["image2pose ↓", "image2text ↑"]


def test_protocol_filter_switches_the_r_precision_variant(app: AppTest) -> None:
    app.radio(key="rp_protocol").set_value("posescript").run()
    frame = table(app)
    assert row(frame, "UniPose-small")["pose2text ↑"] == f"{3.215 + 0.6 * (88.0 - 3.215):.1f}"
    assert row(frame, XSS_NAME)["pose2text ↑"] == "—"  # scored without the posescript variant
    assert row(frame, "UniPose-small")["rpe ↓"] == "48.0"  # not an R-precision task: unchanged


def test_normalised_cells(app: AppTest) -> None:
    app.radio(key="cells").set_value("normalised (0 = chance, 100 = gt)").run()
    frame = table(app)
    assert set(row(frame, "UniPose-small")[[c for c in frame.columns if c.endswith(("↑", "↓"))]]) == {"60.0"}
    assert row(frame, "chance")["rpe ↓"] == "0.0" and row(frame, "gt")["rpe ↓"] == "100.0"
    assert row(frame, "old-evaluator")["pose2text ↑"] == "⚠"


def test_missing_anchor_leaves_no_mean(bench_home: Path) -> None:
    store = bench_home / "results.sqlite"
    fill_store(store, (Entry("gt", 1.0), Entry("chance", 0.0, tasks=("pose2text",)), Entry("m", 0.5)))
    build_table(store, bench_home / "leaderboard" / "table.parquet")
    at = open_app()
    assert table(at)["Norm. mean"].isna().all()
    assert any("cannot normalise" in w and "rpe (no 'chance' entry)" in w for w in warnings(at))
    at.multiselect(key="tasks").set_value(["pose2text"]).run()
    assert row(table(at), "m")["Norm. mean"] == pytest.approx(50.0) and row(table(at), "m")["Rank"] == 1


def test_task_details_show_every_metric_with_ci_and_protocol(app: AppTest) -> None:
    show(app, "Task details")
    app.selectbox(key="detail_task").set_value("pose2text").run()
    details = app.dataframe[0].value
    uni = details[details["Entry"] == "UniPose-small"]
    assert set(uni["Metric"]) == {"r_precision_top1 ★", "r_precision_top2", "r_precision_top3",
                                  "r_precision_posescript_top1", "bleu4", "rouge_l", "meteor"}  # fmt: skip
    main = uni[uni["Metric"] == "r_precision_top1 ★"].iloc[0]
    value = expected_value("UniPose-small", "pose2text")
    half = 0.05 * value + 0.5
    assert main["Value"] == pytest.approx(value) and main["95% CI"] == f"[{value - half:.4g}, {value + half:.4g}]"
    assert (main["Protocol"], main["Seed"], main["n"], main["Evaluator SHA-256"]) == ("blocks32", 0, 4, "e" * 12)
    assert uni[uni["Metric"] == "bleu4"].iloc[0]["95% CI"] == "set-level: none"
    assert details[details["Entry"] == "old-evaluator"]["Comparable"].eq("⚠ no").all()
    app.selectbox(key="detail_task").set_value("image2pose").run()
    details = app.dataframe[0].value
    pa = details[details["Metric"] == "pa_mpjpe_mm ★"]
    assert set(pa["Joint set"]) == {"lsp14"} and set(pa["Alignment"]) == {"procrustes"}
    assert list(pa["Entry"])[0] == "gt"  # lower is better: best first
    assert app.get("vega_lite_chart"), "CI bar chart"


def test_plots_render(app: AppTest) -> None:
    show(app, "Plots")
    assert app.multiselect(key="plot_entries").value == ["UniPose-small (1.0)", f"{XSS_NAME} (1.0)"]
    charts = app.get("vega_lite_chart")
    assert len(charts) == 2
    multiples = json.loads(charts[0].proto.spec)
    assert "facet" in multiples and "data" not in multiples["spec"]["layer"][0]  # bars are split per entry
    frames = [dataframe_util.convert_arrow_bytes_to_pandas_df(d.data.data) for d in charts[0].proto.datasets]
    bars = next(f for f in frames if "normalised" in f)
    assert bars.loc[bars["label"] == "UniPose-small (1.0)", "normalised"].tolist() == pytest.approx([60.0] * 9)
    app.selectbox(key="size_score").set_value("rpe ↓").run()
    assert not app.exception and len(app.get("vega_lite_chart")) == 2


def test_about_and_xss_name_never_reaches_markdown_raw(app: AppTest) -> None:
    show(app, "About")
    texts = [m.value for m in app.markdown] + [w.value for w in app.warning] + [c.value for c in app.caption]
    assert any("normalised = 100" in t for t in texts)
    assert not any("<img" in t for t in texts)


def test_rebuilt_table_is_picked_up_by_content_hash(app: AppTest, board_home: Path) -> None:
    store = board_home / "results.sqlite"
    fill_store(store, (Entry("late-entry", 0.7),))
    build_table(store, board_home / "leaderboard" / "table.parquet")
    app.run()
    assert row(table(app), "late-entry")["Norm. mean"] == pytest.approx(70.0)


def test_no_table_says_how_to_build_one(bench_home: Path) -> None:
    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "leaderboard" / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert "bench leaderboard build" in at.error[0].value.replace("\\", "")
    assert at.file_uploader(key="bundle")  # the upload still works without a table


def test_only_ineligible_runs_page(bench_home: Path) -> None:
    store = bench_home / "results.sqlite"
    fill_store(store, (Entry("smoke", 0.5, eligible=False),))
    build_table(store, bench_home / "leaderboard" / "table.parquet")
    at = open_app()
    assert "No scores in this view" in at.info[0].value and not at.dataframe
    assert "1 run hidden: only part of each split was scored (--limit) (1)." in at.info[0].value.replace("\\", "")
    at.toggle(key="ineligible").set_value(True).run()
    assert row(table(at), "smoke")["Flags"].startswith("ineligible")
    for section in ("Task details", "Plots", "Samples", "About"):
        show(at, section)
