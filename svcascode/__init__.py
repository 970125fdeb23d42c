"""svcascode: the service catalogue, its service levels and its compliance controls, as code."""

__version__ = "0.1.0"
