-- The finish no longer adds to the hourly roll-up row by row: it appends what its batch used,
-- one row per (tenant, task, queue), to workhorse_usage_pending, a table with no index, and the
-- maintenance folds those rows into workhorse_usage every minute (usage_fold). An upsert per
-- tenant per finish (an index probe, a row lock, a rewrite; an insert into two indexes for the
-- first of each hour) took 1.3 ms of a 3.6 ms finish of 100 jobs of 100 tenants (auto_explain,
-- timed): with 10,000 tenants, a batch wrote a roll-up row per job. Readers add the rows not
-- folded yet (usage_list).
CREATE TABLE workhorse_usage_pending (
    tenant        text             NOT NULL,
    hour          timestamptz      NOT NULL,
    task          text             NOT NULL,
    queue         text             NOT NULL,
    jobs          bigint           NOT NULL,
    attempts      bigint           NOT NULL,
    wall_seconds  double precision NOT NULL,
    cpu_seconds   double precision NOT NULL,
    slot_seconds  double precision NOT NULL
);
