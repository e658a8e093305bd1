"""FIM templates for raw prompts: one per model family (pure).

A server that cannot take ``suffix`` (most OpenAI-compatible servers, Ollama in
raw mode) gets one ``prompt`` that carries prefix and suffix between the model's
own special tokens. Each family also has the stop tokens that end its answer;
the server sends them so the model stops there, and the ``fim_tokens`` filter
cuts any that leak anyway.

``template_for(model, choice)`` picks the family: ``choice`` names one, or
``"auto"`` guesses from the model name (``None`` when no family matches).

``render_line_last`` lays a prompt out for a server that reuses the KV cache of the
unchanged beginning of the previous prompt (llama.cpp, Ollama): the lines above the
cursor go in the prefix slot, the suffix after it, and the cursor line's text before
the cursor goes last, after the middle marker, as the start of the middle the model
continues. Typing on one line then changes only the end of the prompt; the suffix is
evaluated again only when the cursor reaches a new line.
"""

from __future__ import annotations

from dataclasses import dataclass
import re
from typing import Callable

RepoFiles = tuple[tuple[str, str], ...]  # (path, text) of other files, most relevant last


@dataclass(frozen=True)
class FimTemplate:
    name: str
    build: Callable[[str, str, str, str, RepoFiles], str]  # (prefix, suffix, repo_name, path, files)
    stop: tuple[str, ...]
    markers: tuple[str, ...] = ()  # the special tokens the layout uses (each one token in the model's vocabulary)
    takes_files: bool = False  # other files have a form of their own (repo-level tokens); else they are dropped
    # the family's SentencePiece vocabulary puts a space before text that follows a special
    # token (as llama.cpp tokenizes it): text after the middle marker would be shifted right
    spaced_text: bool = False

    def render(self, prefix: str, suffix: str, *, repo_name: str = "", path: str = "", files: RepoFiles = ()) -> str:
        return self.build(prefix, suffix, repo_name, path, files)


def _deepseek(prefix: str, suffix: str, repo: str, path: str, files: RepoFiles) -> str:
    return f"<｜fim▁begin｜>{prefix}<｜fim▁hole｜>{suffix}<｜fim▁end｜>"


def _qwen(prefix: str, suffix: str, repo: str, path: str, files: RepoFiles) -> str:
    core = f"<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"
    if not (repo or files):
        return core
    # Repo-level form: the repository name, then each file as <|file_sep|>path\ntext,
    # the file being edited last with the FIM markers inside it.
    head = f"<|repo_name|>{repo or 'repo'}\n"
    head += "".join(f"<|file_sep|>{p}\n{text}\n" for p, text in files)
    return f"{head}<|file_sep|>{path or 'current'}\n{core}"


def _starcoder(prefix: str, suffix: str, repo: str, path: str, files: RepoFiles) -> str:
    core = f"<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>"
    if not files:
        return core
    head = "".join(f"<file_sep>{p}\n{text}\n" for p, text in files)
    return f"{head}<file_sep>{path or 'current'}\n{core}"


def _granite(prefix: str, suffix: str, repo: str, path: str, files: RepoFiles) -> str:
    return f"<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>"


def _codellama(prefix: str, suffix: str, repo: str, path: str, files: RepoFiles) -> str:
    return f"<PRE> {prefix} <SUF>{suffix} <MID>"


def _codestral(prefix: str, suffix: str, repo: str, path: str, files: RepoFiles) -> str:
    return f"[SUFFIX]{suffix}[PREFIX]{prefix}"


def _codegemma(prefix: str, suffix: str, repo: str, path: str, files: RepoFiles) -> str:
    return f"<|fim_prefix|>{prefix}<|fim_suffix|>{suffix}<|fim_middle|>"


TEMPLATES: dict[str, FimTemplate] = {
    t.name: t
    for t in (
        FimTemplate("deepseek", _deepseek, ("<｜end▁of▁sentence｜>", "<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>"),
                    ("<｜fim▁begin｜>", "<｜fim▁hole｜>", "<｜fim▁end｜>")),
        FimTemplate("qwen", _qwen, ("<|endoftext|>", "<|file_sep|>", "<|fim_pad|>", "<|im_end|>", "<|repo_name|>", "<|fim_prefix|>"),
                    ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"), takes_files=True),
        FimTemplate("starcoder", _starcoder, ("<|endoftext|>", "<file_sep>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
                    ("<fim_prefix>", "<fim_suffix>", "<fim_middle>"), takes_files=True),
        FimTemplate("granite", _granite, ("<|endoftext|>", "<file_sep>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
                    ("<fim_prefix>", "<fim_suffix>", "<fim_middle>")),
        FimTemplate("codellama", _codellama, ("<EOT>", "<PRE>", "<SUF>", "<MID>"), ("<PRE>", "<SUF>", "<MID>"),
                    spaced_text=True),
        FimTemplate("codestral", _codestral, ("[PREFIX]", "[SUFFIX]", "[MIDDLE]"), ("[SUFFIX]", "[PREFIX]")),
        FimTemplate("codegemma", _codegemma, ("<|file_separator|>", "<end_of_turn>", "<|fim_prefix|>", "<|fim_suffix|>"),
                    ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>")),
    )
}
TEMPLATE_NAMES: tuple[str, ...] = tuple(TEMPLATES)

# Model-name patterns, most specific first (codegemma before a generic "gemma",
# deepseek before "coder", ...).
_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), name)
    for pattern, name in (
        (r"codegemma", "codegemma"),
        (r"deepseek", "deepseek"),
        (r"qwen", "qwen"),
        (r"granite", "granite"),
        (r"starcoder|santacoder|stable-?code", "starcoder"),
        (r"code-?llama", "codellama"),
        (r"codestral|mistral", "codestral"),
    )
)


def guess_family(model: str | None) -> str | None:
    """The family a model name belongs to, or None."""
    for pattern, name in _RULES:
        if model and pattern.search(model):
            return name
    return None


def template_for(model: str | None, choice: str = "auto") -> FimTemplate | None:
    """The template ``choice`` names, or (``"auto"``) the one the model name suggests."""
    if choice != "auto":
        return TEMPLATES.get(choice)
    family = guess_family(model)
    return TEMPLATES[family] if family else None


def split_cursor_line(prefix: str) -> tuple[str, str]:
    """(the lines above the cursor, the cursor line's text before the cursor)."""
    cut = prefix.rfind("\n") + 1
    return prefix[:cut], prefix[cut:]


def render_line_last(
    template: FimTemplate, prefix: str, suffix: str, *, repo_name: str = "", path: str = "", files: RepoFiles = ()
) -> str:
    """The prompt with the cursor line's start after the middle marker (see the module's
    note): what the model writes next continues that text, so its answer is still the
    text to insert at the cursor. For suffix-first families (codestral) it is the
    ordinary prompt, whose end is the prefix anyway."""
    above, line = split_cursor_line(prefix)
    return template.render(above, suffix, repo_name=repo_name, path=path, files=files) + line
