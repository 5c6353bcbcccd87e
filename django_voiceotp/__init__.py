"""django-voiceotp: one-time passcodes by automated voice call, tracked to the result."""

__version__ = "0.1.0.dev0"
