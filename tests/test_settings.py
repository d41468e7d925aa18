"""Settings parsing: one-line refusals, ranges, typo warnings, and `.env.example`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main as bot_main
from bot.settings import BOT_VARS, load_bot_settings
from retrieval.cli.main import main as cli_main
from retrieval.errors import ConfigError
from retrieval.settings import SETTINGS_VARS, load_settings, number, whole

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("name", "raw", "says"),
    [
        ("NEWSQA_CHUNK_TOKENS", "100000", "at most 256 (the model reads 256 word pieces)"),
        ("NEWSQA_CHUNK_TOKENS", "8", "at least 16"),
        ("NEWSQA_CHUNK_OVERLAP", "-1", "at least 0"),
        ("NEWSQA_TOP_K", "-3", "at least 1"),
        ("NEWSQA_BATCH_SIZE", "0", "at least 1"),
        ("NEWSQA_MAX_QUESTION_CHARS", "5", "at least 10"),
        ("NEWSQA_ANN_MIN_CHUNKS", "٣", "whole number"),  # int() would take Arabic-Indic digits
        ("NEWSQA_ABSTAIN_THRESHOLD", "1.5", "at most 1"),
        ("NEWSQA_ABSTAIN_THRESHOLD", "-0.1", "at least 0"),
        ("NEWSQA_ABSTAIN_THRESHOLD", "-inf", "finite"),
        ("NEWSQA_WATCH_SECONDS", "１", "a number"),  # a full-width digit
        ("NEWSQA_ENCODER", "gpu", "one of int8, fp32, torch"),
        ("NEWSQA_CORPUS_DIR", "~nouser-of-newsqa/x", "no user 'nouser-of-newsqa'"),
        ("NEWSQA_INDEX_DIR", "~nouser-of-newsqa", "no user"),
        ("DISCORD_MAX_CONCURRENT", "inf", "whole number"),
        ("DISCORD_MAX_CONCURRENT", "2.5", "whole number"),
        ("DISCORD_MAX_CONCURRENT", "1000", "at most 64"),
        ("DISCORD_COOLDOWN_SECONDS", "NaN", "finite"),
        ("DISCORD_COOLDOWN_SECONDS", "1e9", "at most 86400"),
        ("DISCORD_GUILD_ID", "²", "a server id"),
        ("DISCORD_GUILD_ID", "0", "a server id"),
        ("DISCORD_GUILD_ID", str(2**64), "a server id"),
        ("DISCORD_ALLOWED_CHANNELS", "12, ²", "channel ids"),
        ("DISCORD_ALLOWED_CHANNELS", "-5", "channel ids"),
        ("DISCORD_API_BASE", "ftp://x", "http:// or https://"),
    ],
)
def test_bad_values_are_refused_in_one_line(name: str, raw: str, says: str) -> None:
    """Each bad value is a ConfigError of one line naming the variable and what is wrong."""
    with pytest.raises(ConfigError) as err:
        load_bot_settings({name: raw}, env_file=None)
    message = str(err.value)
    assert message.startswith(name) and says in message and "\n" not in message


def test_good_values_in_range_are_read() -> None:
    """The bounds themselves and signed or spaced forms are accepted."""
    s = load_bot_settings(
        {
            "NEWSQA_CHUNK_TOKENS": "256",
            "NEWSQA_CHUNK_OVERLAP": "0",
            "NEWSQA_ABSTAIN_THRESHOLD": " 1 ",
            "NEWSQA_TOP_K": "+7",
            "NEWSQA_CORPUS_DIR": "~/news",
            "DISCORD_COOLDOWN_SECONDS": "2.5e1",
            "DISCORD_MAX_CONCURRENT": "64",
            "DISCORD_ADMIN_ROLE": "²Mods",  # not digits: a role name
        },
        env_file=None,
    )
    r = s.retrieval
    assert (r.chunk_tokens, r.chunk_overlap, r.abstain_threshold, r.top_k) == (256, 0, 1.0, 7)
    assert r.corpus_dir == Path("~/news").expanduser() and "~" not in str(r.corpus_dir)
    assert s.cooldown_seconds == 25.0 and s.max_concurrent == 64 and s.admin_role == "²Mods"


def test_parsers_alone() -> None:
    """The shared parsers: ASCII digits only, finite numbers only, bounds inclusive."""
    assert whole(0, 10)("X", "10") == 10
    assert number(0, 1)("X", ".5") == 0.5
    for parse, raw in ((whole(), "1_000"), (whole(), "1.0"), (number(), "1,5"), (number(), "e3")):
        with pytest.raises(ConfigError, match=r"^X must be a"):
            parse("X", raw)


def test_unknown_keys_in_env_file_are_warned_with_the_closest_name(tmp_path: Path) -> None:
    """A typo in .env is named with the key it was probably meant to be; known keys, the
    other entry point's keys and foreign keys pass silently."""
    env_file = tmp_path / ".env"
    env_file.write_text(
        "NEWSQA_CHUNK_TOKEN=120\nDISCORD_TOKN=abc\nNEWSQA_COLOUR_SCHEME=1\nDISCORD_TOKEN=t\n"
        "NEWSQA_TOP_K=3\nPATH_EXTRA=1\nNEWSQA_GUILD_ID=5\n"
    )
    notes: list[str] = []
    s = load_bot_settings({}, env_file=env_file, warn=notes.append)
    assert s.token == "t" and s.retrieval.top_k == 3
    assert s.retrieval.chunk_tokens == 180  # the misspelt key is ignored
    assert len(notes) == 4
    assert "NEWSQA_CHUNK_TOKEN " in notes[0] and "did you mean NEWSQA_CHUNK_TOKENS?" in notes[0]
    assert "DISCORD_TOKN" in notes[1] and "did you mean DISCORD_TOKEN?" in notes[1]
    assert "NEWSQA_COLOUR_SCHEME" in notes[2] and "did you mean" not in notes[2]
    assert "did you mean DISCORD_GUILD_ID?" in notes[3]  # the prefix can be the typo
    # The engine's CLI reads the same file: it owns NEWSQA_* only, and knows them all.
    cli_notes: list[str] = []
    load_settings({}, env_file=env_file, warn=cli_notes.append)
    assert [n.split()[3] for n in cli_notes] == [
        "NEWSQA_CHUNK_TOKEN",
        "NEWSQA_COLOUR_SCHEME",
        "NEWSQA_GUILD_ID",
    ]
    # The process environment is not checked: it holds whatever the shell has.
    assert load_bot_settings({"NEWSQA_CHUNK_TOKEN": "1"}, None, warn=notes.append)
    assert len(notes) == 4


def test_env_example_lists_every_variable_and_parses_cleanly() -> None:
    """.env.example names every variable the engine and the bot read, and nothing else."""
    example = REPO / ".env.example"
    keys = {
        line.split("=", 1)[0]
        for line in example.read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert keys == {v.name for v in (*SETTINGS_VARS, *BOT_VARS)}
    notes: list[str] = []
    load_bot_settings({}, env_file=example, warn=notes.append)
    assert notes == []


def test_unreadable_env_file_is_one_line(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"NEWSQA_TOP_K=\xff\n")
    with pytest.raises(ConfigError, match=r"cannot read settings file .*: not UTF-8$"):
        load_settings({}, env_file=env_file)


def test_env_file_that_is_a_folder_is_one_line(tmp_path: Path) -> None:
    """``--env-file`` naming a folder is refused, not read as an empty file."""
    with pytest.raises(ConfigError, match=r"settings file .* is not a file$"):
        load_settings({}, env_file=tmp_path)
    with pytest.raises(ConfigError, match=r"is not a file$"):
        load_bot_settings({}, env_file=tmp_path)
    assert load_settings({}, env_file=tmp_path / "missing.env").top_k > 0  # absent is fine


def test_entry_points_refuse_bad_settings_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m bot` and `python -m retrieval` print one line and exit non-zero."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_GUILD_ID", "²")
    assert bot_main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: DISCORD_GUILD_ID") and err.count("\n") == 1
    monkeypatch.setenv("NEWSQA_CORPUS_DIR", "~nouser-of-newsqa/x")
    assert cli_main(["stats"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: NEWSQA_CORPUS_DIR") and err.count("\n") == 1
