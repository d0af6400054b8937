"""Broadcast — write once, reach every group: the pure core.

Twenty groups means twenty copies of every announcement; this package decides, without a
database or a network, everything about sending one post to many groups:

* ``content``: a post (texts per language with ``{group}``, ``{date}``, ``{member_count}``,
  ``{community}``; images; links; tags), checked field by field, and rendered for a
  platform with what that platform cannot show flagged;
* ``platforms``: what each platform can show and how long a text it takes;
* ``schedule``: one-off and recurring schedules on the community's clock, their text form,
  the next run, and the single catch-up run after downtime;
* ``localtime``: local wall-clock times to instants, daylight-saving edges decided once;
* ``pacing``: the per-group daily cap, quiet hours, golden hours from the heatmap, and
  WeCom's one mass message a day;
* ``targets``: ``all`` / ``tag:`` / ``group:`` / ``platform:`` / ``community:`` /
  ``segment:`` specs resolved over the groups passed in;
* ``plan``: one run fanned out — a delivery with its idempotency key, or a refusal with
  its reason, per recipient;
* ``problems``: the errors, each naming where and what, in both languages.
"""
