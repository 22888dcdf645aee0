"""The benchmark harness behind ``workhorse bench``."""
