"""Configuration: bad environment values fail loudly; production settings pass check --deploy."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from project.settings import env_bool, env_choice, env_int

ROOT = Path(__file__).resolve().parent.parent


def test_it_rejects_malformed_environment_values(monkeypatch):
    monkeypatch.setenv("VITRINE_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="true or false"):
        env_bool("VITRINE_FLAG", False)
    monkeypatch.setenv("VITRINE_NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="integer"):
        env_int("VITRINE_NUMBER", 1)
    monkeypatch.setenv("VITRINE_NUMBER", "-3")
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        env_int("VITRINE_NUMBER", 1)
    monkeypatch.setenv("VITRINE_BACKEND", "carrier-pigeon")
    with pytest.raises(ImproperlyConfigured, match="one of"):
        env_choice("VITRINE_BACKEND", "db", {"db", "rq"})


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in ("DEBUG", "SECRET_KEY")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_refuses_to_start_in_production_without_a_secret_key():
    result = run_manage("check", DEBUG="false", ALLOWED_HOSTS="shop.example.com")
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_it_refuses_to_start_in_production_without_allowed_hosts():
    result = run_manage("check", DEBUG="false", SECRET_KEY="k" * 30 + "Zq8#x!" * 5)
    assert result.returncode != 0 and "ALLOWED_HOSTS" in result.stderr


def test_it_passes_the_deploy_check_with_production_settings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY="q3!x9-Lm2#vT8$kP0@wR5^zN7&yB4*cH6(jD1)fG-sA_eU+iO=oY",
        ALLOWED_HOSTS="shop.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_an_unknown_task_backend():
    result = run_manage("check", TASK_BACKEND="cron")
    assert result.returncode != 0 and "TASK_BACKEND must be one of" in result.stderr


def test_it_selects_the_redis_task_backend_from_the_environment():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.TASKS['default']['BACKEND'])",
        TASK_BACKEND="rq",
        REDIS_URL="redis://127.0.0.1:6399/0",
    )
    assert result.stdout.strip().endswith("django_tasks_rq.RQBackend"), result.stderr
