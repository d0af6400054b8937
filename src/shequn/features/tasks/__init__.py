"""The operator inbox: the notices shequn's features send to a person, kept as tasks that an
operator marks done (with a note) or opens again."""
