CREATE TABLE page_views (
    id bigint GENERATED ALWAYS AS IDENTITY,
    viewed_at timestamptz NOT NULL,
    url text NOT NULL
) PARTITION BY RANGE (viewed_at);
CREATE UNIQUE INDEX page_views_id_idx ON page_views (id);
