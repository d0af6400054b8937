"""Operator-written texts with variables: welcome messages, auto-replies, broadcasts."""
