"""``workhorse serve``: workers, maintenance and (with --demo) traffic, in one command."""
