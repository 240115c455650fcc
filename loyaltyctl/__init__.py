"""loyaltyctl: the command line that runs a points-based loyalty program."""

__version__ = "0.1.0"
