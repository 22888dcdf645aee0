-- Every finish rewrites its tenants' rows (their decayed usage) and their hourly roll-up rows.
-- On full pages an update cannot stay on the row's page, and a row that moves adds an entry to
-- every index of its table (and the roll-up has two): at 10,000 tenants 60 % of the tenants'
-- updates moved, in a drain of 20,000 jobs. Half of each page is left free for the new versions
-- of its rows, so that they are written in place (HOT: no index entry). It holds for pages
-- written from now on; a table rewrite (VACUUM FULL) applies it to the older ones.
ALTER TABLE workhorse_tenants SET (fillfactor = 50);
ALTER TABLE workhorse_usage SET (fillfactor = 50);
