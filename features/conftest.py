"""Feature-tree plugins: the rules-driven catalogue's applicability (from the party's declaration) and its
coverage summary. The generic duisconf plugin arrives through its entry point; steps through the root conftest."""

pytest_plugins = ["duisconf.pytest_catalogue"]
