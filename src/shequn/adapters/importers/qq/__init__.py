"""QQ's PC message manager text exports."""
