"""Background jobs of the dashboard: imports of uploaded exports, and recounts of the
activity rollups after a community's time zone changes.

``logic`` is pure, ``service`` holds the ``import_job`` queries, and ``runner``
runs jobs one at a time on a thread of the web process; what a job does is
handed to the runner by the web layer, so this package needs neither the
pipeline nor the importers.
"""
