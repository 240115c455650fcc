"""Typer commands: parse, call one service, hand the result to the output layer.

Heavy modules (SQLAlchemy, SQLModel, services) are imported inside the commands
so that `loyaltyctl --help` starts fast.
"""
