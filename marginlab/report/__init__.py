"""Timeline → files (Markdown, CSV, charts, comparison tables). Pure: never touches a chain."""
