"""Leader-elected maintenance: reaper, promoter, pruner, worker registry clean-up."""
