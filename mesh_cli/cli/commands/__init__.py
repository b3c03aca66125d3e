"""Command groups beyond the core ones in cli.py; each module only parses, calls the core and renders."""
