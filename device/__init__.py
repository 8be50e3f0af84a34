"""The recorder agent, hardware-independent: config, spool, upload, capture, agent."""

__version__ = "0.1.0"
USER_AGENT = f"recorder/{__version__}"
