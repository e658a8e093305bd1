"""FIM templates as tables: the rendered raw prompt, the family chosen from a model
name, the stop tokens, and the leaked tokens the fim_tokens filter cuts."""

from __future__ import annotations

import pytest

from fim_server.core.postprocess import fim_tokens
from fim_server.providers.templates import TEMPLATES, guess_family, template_for

P, S = "def add(a, b):\n    return ", "\n\nprint(add(1, 2))\n"


@pytest.mark.parametrize(
    "family, expected",
    [
        ("deepseek", f"<｜fim▁begin｜>{P}<｜fim▁hole｜>{S}<｜fim▁end｜>"),
        ("qwen", f"<|fim_prefix|>{P}<|fim_suffix|>{S}<|fim_middle|>"),
        ("starcoder", f"<fim_prefix>{P}<fim_suffix>{S}<fim_middle>"),
        ("granite", f"<fim_prefix>{P}<fim_suffix>{S}<fim_middle>"),
        ("codellama", f"<PRE> {P} <SUF>{S} <MID>"),
        ("codestral", f"[SUFFIX]{S}[PREFIX]{P}"),
        ("codegemma", f"<|fim_prefix|>{P}<|fim_suffix|>{S}<|fim_middle|>"),
    ],
)
def test_render(family, expected):
    assert TEMPLATES[family].render(P, S) == expected


def test_deepseek_markers_are_the_full_width_characters():
    text = TEMPLATES["deepseek"].render("a", "b")
    assert "\uff5c" in text and "\u2581" in text and "|" not in text


def test_qwen_repo_level_context():
    rendered = TEMPLATES["qwen"].render(P, S, repo_name="shop", path="src/calc.py", files=(("src/util.py", "X = 1"),))
    assert rendered == (
        "<|repo_name|>shop\n<|file_sep|>src/util.py\nX = 1\n<|file_sep|>src/calc.py\n"
        f"<|fim_prefix|>{P}<|fim_suffix|>{S}<|fim_middle|>"
    )


def test_starcoder2_file_context():
    rendered = TEMPLATES["starcoder"].render("a", "b", path="m.py", files=(("n.py", "y"),))
    assert rendered == "<file_sep>n.py\ny\n<file_sep>m.py\n<fim_prefix>a<fim_suffix>b<fim_middle>"


@pytest.mark.parametrize(
    "family, must_stop_at",
    [
        ("deepseek", ["<｜end▁of▁sentence｜>"]),
        ("qwen", ["<|endoftext|>", "<|file_sep|>", "<|fim_pad|>", "<|im_end|>"]),
        ("starcoder", ["<|endoftext|>", "<file_sep>"]),
        ("granite", ["<|endoftext|>"]),
        ("codellama", ["<EOT>"]),
        ("codestral", ["[PREFIX]", "[SUFFIX]"]),
        ("codegemma", ["<|file_separator|>", "<end_of_turn>"]),
    ],
)
def test_stop_tokens(family, must_stop_at):
    assert set(must_stop_at) <= set(TEMPLATES[family].stop)
    assert len(TEMPLATES[family].stop) <= 8  # leaves room for the user's and the newline stop


@pytest.mark.parametrize(
    "model, family",
    [
        ("deepseek-coder-6.7b-base", "deepseek"),
        ("deepseek-ai/DeepSeek-Coder-V2-Lite-Base", "deepseek"),
        ("Qwen/Qwen2.5-Coder-7B", "qwen"),
        ("qwen2.5-coder:1.5b-base", "qwen"),
        ("bigcode/starcoder2-3b", "starcoder"),
        ("ibm-granite/granite-3b-code-base", "granite"),
        ("codellama/CodeLlama-7b-hf", "codellama"),
        ("codellama:7b-code", "codellama"),
        ("codestral-latest", "codestral"),
        ("mistralai/Codestral-22B-v0.1", "codestral"),
        ("google/codegemma-2b", "codegemma"),
        ("codegemma:2b-code", "codegemma"),
        ("llama3.1:8b", None),
        ("gpt-4o", None),
        ("", None),
    ],
)
def test_family_from_model_name(model, family):
    assert guess_family(model) == family
    chosen = template_for(model, "auto")
    assert (chosen.name if chosen else None) == family


def test_explicit_template_wins_over_the_model_name():
    assert template_for("Qwen/Qwen2.5-Coder-7B", "codellama").name == "codellama"
    assert template_for("my-finetune", "starcoder").name == "starcoder"


@pytest.mark.parametrize("family", sorted(TEMPLATES))
def test_leaked_tokens_of_every_family_are_cut(family):
    for token in TEMPLATES[family].stop:
        assert fim_tokens.apply(f"x = 1{token}garbage") == "x = 1", token


@pytest.mark.parametrize("family", sorted(TEMPLATES))
def test_cursor_line_last_changes_only_the_end_while_typing_on_a_line(family):
    from fim_server.providers.templates import render_line_last

    template = TEMPLATES[family]
    above, suffix = "import os\n\ndef main():\n", "\n\nprint(main())\n"
    typed = ["    t", "    to", "    tot", "    total = "]
    prompts = [render_line_last(template, above + line, suffix, path="m.py") for line in typed]
    for line, prompt in zip(typed, prompts):
        assert prompt.endswith(line) and prompt == template.render(above, suffix, path="m.py") + line
    # each keystroke's prompt is the previous one with the typed text appended
    assert all(b.startswith(a) for a, b in zip(prompts, prompts[1:]))
    assert all(marker in prompts[0] for marker in template.markers) and template.markers
    # a new line moves the finished line into the prefix slot
    assert render_line_last(template, above + "    total = 1\n", suffix) == template.render(above + "    total = 1\n", suffix)
