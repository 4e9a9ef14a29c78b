"""actionkit: probe and patch action knowledge in frozen video-language models."""

__version__ = "0.1.0"
