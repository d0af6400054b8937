"""The imperative shell that moves events in and actions out."""
