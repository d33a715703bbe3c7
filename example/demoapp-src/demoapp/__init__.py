"""demoapp: venvdeb's bundled example application."""

__version__ = "1.0.0"
