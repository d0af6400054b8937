"""Where operators' group rules are kept: checked by their family's logic when saved."""
