-- The board reads the newest tasks of each lane and state, and counts them.
CREATE INDEX tasks_board ON tasks (lane, state, updated_at DESC, id DESC);
