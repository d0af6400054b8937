"""Operator accounts: roles and what they may do, passwords, sessions and API tokens."""
