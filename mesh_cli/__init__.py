"""mesh: a data mesh for analytics engineers, built on dbt."""

__version__ = "0.1.0"
