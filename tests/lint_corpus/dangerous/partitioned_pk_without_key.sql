CREATE TABLE metrics (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    value double precision,
    recorded_at timestamptz NOT NULL
) PARTITION BY RANGE (recorded_at);

CREATE TABLE metrics_2025_01 PARTITION OF metrics FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
