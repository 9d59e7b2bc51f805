-- Jobs tell the truth across nodes (issue #10). A node is one local media store (a VIZTUBE_HOME, its id kept
-- in VIZTUBE_HOME/node-id): jobs that need a locally stored file are pinned to the node holding it, and every
-- claim records the worker process that took it, so a restarted node resumes its dead processes' jobs at once.

-- The node whose disk holds a locally stored video's file and HLS output (NULL: Cloudinary, or stored before
-- nodes were recorded, when there was one box).
ALTER TABLE videos ADD COLUMN media_node text;

ALTER TABLE jobs
  ADD COLUMN node         text,     -- only this node may claim the job (NULL: any node)
  ADD COLUMN worker_node  text,     -- who claimed it last: the node,
  ADD COLUMN worker_host  text,     -- the machine (hostname and boot), where its pid means something,
  ADD COLUMN worker_pid   integer,  -- the process,
  ADD COLUMN worker_token text;     -- and a token the process drew when it started (pids are reused)

-- A starting worker looks up its own node's running jobs; the one-heavy-job-per-node claim looks for one.
CREATE INDEX jobs_running_worker_idx ON jobs (worker_node, kind) WHERE status = 'running';
