"""One place for every file location guide-tui uses.

Each location is a function (never computed at import), overridable by an environment variable
so tests and users can redirect it:

- ``GUIDE_TUI_RECORDINGS``: where sessions are written (default ``./recordings``).
- ``GUIDE_TUI_CONFIG_DIR``: configuration (default: platformdirs' user config dir).
- ``GUIDE_TUI_MODELS``: the local Whisper model store (default: platformdirs' user cache dir).
- ``GUIDE_TUI_GUIDES``: where ``guide-tui run`` without a guide looks (default ``./guides``).
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "guide-tui"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def recordings_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """Sessions folder: explicit option, then env var, then config, then ``./recordings``."""
    if override:
        return Path(override).expanduser()
    env = _env_path("GUIDE_TUI_RECORDINGS")
    if env is not None:
        return env
    configured = _configured_recordings_dir()
    if configured is not None:
        return configured
    return Path.cwd() / "recordings"


def config_dir() -> Path:
    env = _env_path("GUIDE_TUI_CONFIG_DIR")
    if env is not None:
        return env
    import platformdirs  # deferred: only needed when no override is set

    return Path(platformdirs.user_config_dir(APP_NAME))


def config_file() -> Path:
    return config_dir() / "config.toml"


def models_dir() -> Path:
    env = _env_path("GUIDE_TUI_MODELS")
    if env is not None:
        return env
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME)) / "models"


def guides_dir() -> Path:
    env = _env_path("GUIDE_TUI_GUIDES")
    if env is not None:
        return env
    return Path.cwd() / "guides"


def read_config() -> dict[str, object]:
    """The config file as a dict; ``{}`` when there is none (or on Python 3.10, no tomllib).

    The one reader of ``config.toml``: a file that exists but cannot be parsed is an error with
    its path and the parser's line and column, never silently ignored (a typo would otherwise send
    recordings somewhere the interviewer does not expect).
    """
    from guide_tui.errors import ConfigError
    from guide_tui.userfiles import open_regular_file

    path = config_file()
    try:
        with open_regular_file(path) as handle:  # a FIFO here would hang every command
            text = handle.read()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(
            f"{path}: cannot read the config file: {error.strerror or error}"
        ) from None
    try:
        import tomllib
    except ImportError:  # Python 3.10: no config file support, defaults apply
        return {}
    try:
        return tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not a valid config file: {error}") from None


def _configured_recordings_dir() -> Path | None:
    """``recordings = "..."`` in the config file, if it sets one."""
    value = read_config().get("recordings")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        from guide_tui.errors import ConfigError

        raise ConfigError(f"{config_file()}: 'recordings' must be a folder path in quotes")
    return Path(value).expanduser()
