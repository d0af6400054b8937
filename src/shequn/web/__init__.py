"""The web shell: the operator dashboard and the REST API over the features."""
