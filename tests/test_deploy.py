"""The files an operator deploys with, and what they name, kept consistent: the systemd
units (checked by systemd-analyze where it exists), the environment file, the Procfile,
the licence, the version, the changelog and the README's table of contents."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tomllib

import pytest

from bot import DEFAULTS, TWILIO_ENV
from bot.cli import main
from bot.settings import read_env_file
from conftest import ROOT

DEPLOY = ROOT / "deploy"
UNITS = ["helpline.service", "helpline-purge.service", "helpline-purge.timer"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


# Read now: `_isolated_env` removes HELPLINE_* variables around each test.
REQUIRE_SYSTEMD = os.environ.get("HELPLINE_REQUIRE_SYSTEMD") == "1"


def test_systemd_units_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        if REQUIRE_SYSTEMD:
            pytest.fail("systemd-analyze is missing, and HELPLINE_REQUIRE_SYSTEMD=1")
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    # The units name /srv/helpline; here the code is in this checkout (its .venv exists).
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8").replace("/srv/helpline", str(ROOT))
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / n) for n in UNITS)],
                            capture_output=True, text=True, timeout=60)
    # Unknown keys are only warnings (exit 0), so any output at all is a failure.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def exec_start(name: str) -> list[str]:
    line = next(line for line in (DEPLOY / name).read_text().splitlines()
                if line.startswith("ExecStart="))
    example = str(DEPLOY / "helpline.env.example")  # stands in for /etc/helpline's copy
    return [example if a == "/etc/helpline/helpline.env" else a
            for a in shlex.split(line.removeprefix("ExecStart="))]


@pytest.mark.parametrize("unit", ["helpline.service", "helpline-purge.service"])
def test_the_units_commands_are_ones_the_cli_takes(unit):
    args = exec_start(unit)
    assert args[0] == "/srv/helpline/.venv/bin/helpline"
    rest = args[1:]
    if rest[0] == "--env-file":  # the group's own option, before the command
        assert (DEPLOY / "helpline.env.example").samefile(rest[1])
        rest = rest[2:]
    name, *rest = rest
    command = main.get_command(None, name)  # type: ignore[arg-type]
    assert command is not None
    command.make_context(name, rest)  # raises on an unknown option


def test_procfile_runs_serve_with_options_the_cli_takes():
    line = (ROOT / "Procfile").read_text().strip()
    kind, _, command = line.partition(": ")
    args = shlex.split(command.replace("$PORT", "5000"))
    assert kind == "web" and args[:2] == ["helpline", "serve"]
    main.get_command(None, "serve").make_context("serve", args[2:])  # type: ignore[union-attr]


def test_env_file_option_of_the_group_reaches_every_command(runner, tmp_path, monkeypatch):
    env = tmp_path / "helpline.env"
    env.write_text(f"HELPLINE_DATABASE={tmp_path / 'h.sqlite3'}\n")
    result = runner.invoke(main, ["--env-file", str(env), "purge"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "h.sqlite3").exists()
    monkeypatch.delenv("HELPLINE_DATABASE")


def test_env_file_example_names_only_real_settings_and_every_required_one():
    values = read_env_file(DEPLOY / "helpline.env.example")
    commented = set(re.findall(r"^#([A-Z_]+)=", (DEPLOY / "helpline.env.example").read_text(),
                               re.MULTILINE))
    known = {f"HELPLINE_{name}" for name in DEFAULTS} | set(TWILIO_ENV) | {
        "HELPLINE_TRUSTED_PROXIES", "HELPLINE_LEAVE_URL"}
    assert set(values) | commented <= known, (set(values) | commented) - known
    for name in ["HELPLINE_SECRET_KEY", "TWILIO_AUTH_TOKEN", "HELPLINE_PUBLIC_URL",
                 "HELPLINE_ORG_NAME", "HELPLINE_SUPPORT_CONTACT"]:
        assert name in values


def test_licence_file_matches_pyproject():
    assert PYPROJECT["project"]["license"] == "AGPL-3.0-or-later"  # SPDX, PEP 639 form
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]
    head = (ROOT / "LICENSE").read_text(encoding="utf-8")[:200]
    assert "GNU AFFERO GENERAL PUBLIC LICENSE" in head and "Version 3" in head


def test_version_matches_pyproject_and_changelog(runner):
    version = PYPROJECT["project"]["version"]
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"helpline {version}"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(version)}\] - \d{{4}}-\d\d-\d\d$", changelog,
                     re.MULTILINE)


def test_readme_contents_lists_every_section_and_names_the_deploy_files():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", readme, re.MULTILINE)
    contents = readme.split("## Contents", 1)[1].split("\n## ", 1)[0]
    for heading in headings:
        if heading != "Contents":
            anchor = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
            assert f"(#{anchor})" in contents, heading
    for path in [*(f"deploy/{n}" for n in UNITS), "deploy/Caddyfile",
                 "deploy/helpline.env.example", "Procfile", "LICENSE"]:
        assert f"`{path}`" in readme, path
