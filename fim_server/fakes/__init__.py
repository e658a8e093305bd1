"""Fake FIM providers served over real HTTP on 127.0.0.1 for tests and benchmarks.

``server`` is the generic scripted fake (``wire``: HTTP/1.1 on the socket,
``replies``: what a fake is scripted with and what it records); ``deepseek``,
``openai``, ``ollama``, ``llamacpp`` and ``codestral`` are its dialects; ``cli``
serves one from the command line (``python -m fim_server.fakes``).
"""
