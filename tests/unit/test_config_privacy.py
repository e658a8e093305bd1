"""The settings added for privacy and reliability: excludeGlobs, caBundle,
fatalRetrySeconds (bad value: one problem and the default)."""

from __future__ import annotations

from fim_server.settings import Settings, parse_settings


def test_exclude_globs():
    settings, problems = parse_settings({"excludeGlobs": ["**/secrets/**", "*.sql"]})
    assert settings.exclude_globs == ("**/secrets/**", "*.sql") and problems == []
    settings, problems = parse_settings({"excludeGlobs": "*.sql"})
    assert settings.exclude_globs == ("*.sql",)
    settings, problems = parse_settings({"excludeGlobs": [1, ""]})
    assert settings.exclude_globs == () and len(problems) == 1 and "excludeGlobs" in problems[0]


def test_ca_bundle(tmp_path):
    pem = tmp_path / "ca.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\n", encoding="ascii")
    settings, problems = parse_settings({"caBundle": str(pem)})
    assert settings.ca_bundle == str(pem) and problems == []
    settings, problems = parse_settings({"caBundle": str(tmp_path / "missing.pem")})
    assert settings.ca_bundle is None
    (problem,) = problems
    assert "caBundle" in problem and "readable PEM file" in problem
    settings, problems = parse_settings({"caBundle": ""})
    assert settings.ca_bundle is None and problems == []
    settings, problems = parse_settings({"caBundle": str(tmp_path)})  # a folder is not a file
    assert settings.ca_bundle is None and len(problems) == 1


def test_fatal_retry_seconds():
    assert Settings().fatal_retry_seconds == 300
    assert parse_settings({"fatalRetrySeconds": 0})[0].fatal_retry_seconds == 0
    settings, problems = parse_settings({"fatalRetrySeconds": -5})
    assert settings.fatal_retry_seconds == 300 and len(problems) == 1
