"""Settings: layering, errors that name the key and the file, masking, DIGEST_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.core.errors import ConfigError
from digest.settings.loading import effective_settings, load_config, load_settings


def test_defaults_need_no_file(isolated: Path) -> None:
    settings = load_settings()
    assert settings.provider == "outbox"
    assert settings.home == isolated
    assert settings.db_url == f"sqlite:///{isolated / 'digest.db'}"
    assert settings.outbox_dir == isolated / "outbox"


def test_layers_in_order(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text(
        'timezone = "Europe/Warsaw"\nbase_url = "https://a.example"\n[sender]\nname = "From file"\n'
    )
    env = {"DIGEST_TIMEZONE": "America/New_York", "DIGEST_SENDER__NAME": "From env"}
    loaded = load_config(path, env=env, overrides={"sender.name": "From flag"})
    s = loaded.settings
    assert s.base_url == "https://a.example"  # file over default
    assert s.timezone == "America/New_York"  # env over file
    assert s.sender.name == "From flag"  # flag over env
    assert loaded.origin(("base_url",)) == str(path)
    assert loaded.origin(("timezone",)) == "environment DIGEST_TIMEZONE"
    assert loaded.origin(("sender", "name")) == "command-line option sender.name"
    assert loaded.origin(("provider",)) == "default"


def test_a_table_valued_setting_names_the_file_that_set_it(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text('[ingest.keywords]\nopenai = ["OpenAI", "ChatGPT"]\n')
    rows = {key: origin for key, _, origin in effective_settings(load_config(path, env={}))}
    assert rows["ingest.keywords"] == str(path)
    assert rows["ingest.timeout"] == "default"


def test_default_config_file_is_found_in_cwd(isolated: Path) -> None:
    Path("config").mkdir()
    Path("config/digest.toml").write_text('timezone = "Asia/Tokyo"\n')
    assert load_settings(env={}).timezone == "Asia/Tokyo"


def test_digest_config_env_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text('timezone = "Asia/Tokyo"\n')
    assert load_settings(env={"DIGEST_CONFIG": str(path)}).timezone == "Asia/Tokyo"


def test_unknown_key_names_file_key_and_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text('[sender]\nnmae = "x"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    message = str(err.value)
    assert str(path) in message
    assert "'sender.nmae'" in message
    assert "did you mean 'name'" in message


def test_wrong_type_names_key_value_and_help(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text('[newsletters.weekly]\ntitle = "W"\ntags = ["a"]\nwindow_days = "seven"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    message = str(err.value)
    assert f"{path}: newsletters.weekly.window_days = 'seven'" in message
    assert "valid integer" in message
    assert "How fresh an article must be" in message


def test_bad_env_value_names_the_variable() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env={"DIGEST_TIMEZONE": "Mars/Olympus"})
    assert "environment DIGEST_TIMEZONE: timezone = 'Mars/Olympus'" in str(err.value)
    assert "IANA" in str(err.value)


def test_missing_required_newsletter_key(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text('[newsletters.weekly]\ntitle = "W"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert "newsletters.weekly.tags" in str(err.value)
    assert "Field required" in str(err.value)


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text('timezone = "UTC"\nbroken = \n')
    with pytest.raises(ConfigError) as err:
        load_settings(path, env={})
    assert str(path) in str(err.value)
    assert "line 2" in str(err.value)


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings("/nonexistent/digest.toml", env={})


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    path = sub / "d.toml"
    path.write_text('templates_dir = "tpl"\n[sources.blog]\nlocation = "../articles"\n')
    s = load_settings(path, env={})
    assert s.templates_dir == sub / "tpl"
    assert s.sources["blog"].location == str(tmp_path / "articles")


def test_secrets_are_masked(tmp_path: Path) -> None:
    env = {
        "DIGEST_SECRET_KEY": "very-secret-value",
        "DIGEST_DATABASE_URL": "postgresql://u:hunter2@db.example/digest",
    }
    rows = effective_settings(load_config(env=env))
    shown = " ".join(value for _, value, _ in rows)
    assert "very-secret-value" not in shown
    assert "hunter2" not in shown
    assert dict((k, v) for k, v, _ in rows)["secret_key"] == "********"


def test_production_needs_a_secret_key() -> None:
    with pytest.raises(ConfigError, match="DIGEST_SECRET_KEY"):
        load_settings(
            env={"DIGEST_ENVIRONMENT": "production", "DIGEST_BASE_URL": "https://news.example.com"}
        )


@pytest.mark.parametrize("key", ["", "   ", "short", "change-me-please"[:9]])
def test_production_refuses_an_empty_or_weak_secret_key(key: str) -> None:
    with pytest.raises(ConfigError, match="DIGEST_SECRET_KEY"):
        load_settings(
            env={
                "DIGEST_ENVIRONMENT": "production",
                "DIGEST_BASE_URL": "https://news.example.com",
                "DIGEST_SECRET_KEY": key,
            }
        )


def test_bad_subject_field(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text('[newsletters.w]\ntitle = "W"\ntags = ["a"]\nsubject = "{titel}"\n')
    with pytest.raises(ConfigError, match="titel"):
        load_settings(path, env={})


def test_home_relocates_all_state(tmp_path: Path) -> None:
    s = load_settings(env={"DIGEST_HOME": str(tmp_path / "elsewhere")})
    assert str(tmp_path / "elsewhere") in s.db_url
    assert s.outbox_dir == tmp_path / "elsewhere" / "outbox"


def test_a_newsletter_cannot_take_a_send_command_word(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text('[newsletters.status]\ntitle = "S"\ntags = ["x"]\n')
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert "newsletters" in err.value.message and "command word" in err.value.message


SECRETS = {
    "DIGEST_SECRET_KEY": "short-secret",
    "DIGEST_SENDGRID__API_KEY": "SG.very-secret-key",
    "DIGEST_SMTP__PASSWORD": "smtp-secret-password",
    "DIGEST_SUMMARIES__API_KEY": "summaries-secret-key",
    "DIGEST_DATABASE_URL": "postgresql://me:db-secret-password@127.0.0.1:1/nothing",
}


@pytest.mark.parametrize("verbose", [False, True])
def test_no_message_or_traceback_shows_a_secret(tmp_path: Path, verbose: bool) -> None:
    from click.testing import CliRunner

    from digest.cli import cli

    env = {**SECRETS, "DIGEST_ENVIRONMENT": "production", "DIGEST_HOME": str(tmp_path)}
    args = ["-v"] if verbose else []
    for command in (["config", "check"], ["send", "status", "weekly"], ["subscribers", "list"]):
        result = CliRunner(env=env).invoke(cli, [*args, *command])
        assert result.exit_code != 0
        text = result.output + "".join(
            __import__("traceback").format_exception(result.exception) if result.exception else []
        )
        assert "production needs" in text or "invalid settings" in text
        for secret in SECRETS.values():
            value = secret.rsplit(":", 1)[-1].split("@")[0] if "://" in secret else secret
            assert value not in text, f"{value} shown by {command}"
    # A malformed database URL is named without its password.
    env = {"DIGEST_DATABASE_URL": "nonsense://me:db-secret-password@", "DIGEST_HOME": str(tmp_path)}
    result = CliRunner(env=env).invoke(cli, ["subscribers", "list", "--list", "weekly"])
    assert "db-secret-password" not in result.output and "***" in result.output


def test_a_mistyped_environment_variable_is_warned_with_the_right_name(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from digest.cli import cli

    env = {
        "DIGEST_PROVDER": "smtp",
        "DIGEST_SENDGRID_API_KEY": "SG.x",
        "DIGEST_SEND__RATE_LIMIT": "5",
    }
    result = CliRunner(env=env).invoke(cli, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "DIGEST_PROVDER sets no setting and is ignored; did you mean DIGEST_PROVIDER?" in (
        result.output
    )
    assert "did you mean DIGEST_SENDGRID__API_KEY?" in result.output
    assert "SG.x" not in result.output
    assert "DIGEST_SEND__RATE_LIMIT" not in result.output.split("warning")[-1].split("\n")[0]
    assert result.output.count("warning:") == 2
