"""Communities, groups, members: who is where, with which role, title and number."""
