-- At most one verification of an AWS connection at a time (like one sync per integration): asking again while
-- one is queued or running records nothing more (`JobQueue::record_exclusive`).
CREATE UNIQUE INDEX job_runs_one_active_aws_verification ON job_runs (subject_id)
    WHERE kind = 'verify_aws_connection' AND state IN ('queued', 'running', 'retrying');
