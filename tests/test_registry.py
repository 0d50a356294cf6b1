import pytest

from bench.errors import BenchError, InternalError, NotFoundError, format_location
from bench.registry import Registry


def test_register_get_and_did_you_mean() -> None:
    reg: Registry[int] = Registry("widget")
    reg.register("text2pose")(1)
    reg.add("pose2text", 2)
    assert reg.get("text2pose") == 1 and reg.names() == ["pose2text", "text2pose"]
    with pytest.raises(NotFoundError, match="did you mean 'text2pose'") as info:
        reg.get("text2pos")
    assert info.value.exit_code == 2 and "known: pose2text, text2pose" in str(info.value)


def test_duplicates_are_rejected() -> None:
    reg: Registry[int] = Registry("widget")
    reg.add("a", 1)
    with pytest.raises(InternalError, match="duplicate"):
        reg.add("a", 2)


def test_package_discovery_freezes() -> None:
    reg: Registry[object] = Registry("cli module", packages=("bench.cli",))
    assert reg.names() == []  # bench.cli modules register nothing here, but are imported
    with pytest.raises(InternalError, match="frozen"):
        reg.add("late", object())


def test_error_messages_are_one_line_and_name_location() -> None:
    err = BenchError("bad\nvalue   here", file="sub/a.jsonl", field="pose", sample_id="007")
    assert str(err) == "sub/a.jsonl: sample '007': field 'pose': bad value here"
    assert format_location("x") == "x"
